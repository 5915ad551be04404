package ports

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestFreeIsBelowTheEphemeralRange(t *testing.T) {
	low, err := ephemeralLow(rangeFile)
	if err != nil {
		t.Skipf("no %s here: %v", rangeFile, err)
	}
	seen := map[int]bool{}
	for range 50 {
		p, err := Free()
		if err != nil {
			t.Fatal(err)
		}
		if low-lowest >= 1000 && (p < lowest || p >= low) {
			t.Fatalf("port %d is not in %d-%d, below the ephemeral range", p, lowest, low-1)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		l.Close()
	}
}

func TestEphemeralLowNamesWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	for body, want := range map[string]string{
		"32768\t60999\n": "",
		"garbage":        "expected two port numbers",
		"x 60999":        `expected a port number, got "x"`,
		"0 60999":        `expected a port number, got "0"`,
	} {
		p := filepath.Join(dir, "range")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		low, err := ephemeralLow(p)
		switch {
		case want == "" && (err != nil || low != 32768):
			t.Errorf("%q: got %d, %v", body, low, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
}

func TestInUse(t *testing.T) {
	if !InUse("ERROR: Port already bound: 41037: Address already in use") || InUse("started in 3.4s") {
		t.Fatal("InUse misreads a server's output")
	}
}

// One offset from every base lands each on a free port below the ephemeral
// range, handed out once.
func TestOffsetIsCommonAndFree(t *testing.T) {
	low, err := ephemeralLow(rangeFile)
	if err != nil || low-lowest < 1000 {
		t.Skipf("no room below the ephemeral range here: %v", err)
	}
	var bases []int
	for range 3 {
		p, err := Free()
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, p)
	}
	o, err := Offset(bases)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bases {
		p := b + o
		if o < 1 || p >= low {
			t.Fatalf("offset %d from %d gives %d, not below %d", o, b, p, low)
		}
		if !issued[p] {
			t.Errorf("port %d not marked handed out", p)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		l.Close()
	}
	if _, err := Offset([]int{low - 1}); err == nil {
		t.Error("a base at the top of the range got an offset")
	}
}
