// Package ports hands out free loopback TCP ports for servers the harness
// starts and tells to listen on a given port.
//
// A port the kernel picks with Listen(":0") comes from its ephemeral range,
// the same range it draws outgoing connections' source ports from. Between
// the moment the harness picks such a port and the moment the server binds
// it (seconds, for Keycloak), any outgoing connection on the machine, the
// harness's own readiness polls included, may take it: Keycloak then fails
// with "Port already bound". Ports below the ephemeral range are never given
// to outgoing connections, so Free picks from there.
package ports

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// rangeFile holds the kernel's ephemeral port range ("32768\t60999").
const rangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// lowest is the lowest port handed out: well above the well-known and most
// registered service ports.
const lowest = 10000

var (
	mu     sync.Mutex
	issued = map[int]bool{} // ports this process handed out, never given twice
)

// Free returns a loopback port that is free now, below the kernel's
// ephemeral range, and not handed out before by this process.
func Free() (int, error) {
	low, err := ephemeralLow(rangeFile)
	if err != nil || low-lowest < 1000 {
		// No room below the ephemeral range: take the kernel's choice.
		return kernelPort()
	}
	mu.Lock()
	defer mu.Unlock()
	for range 200 {
		p := lowest + rand.IntN(low-lowest)
		if issued[p] || !bindable(p) {
			continue
		}
		issued[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("no free loopback port found in %d-%d after 200 tries", lowest, low-1)
}

// ephemeralLow reads the first port of the kernel's ephemeral range.
func ephemeralLow(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, fmt.Errorf("%s: expected two port numbers, got %q", path, strings.TrimSpace(string(b)))
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low < 1 || low > 65535 {
		return 0, fmt.Errorf("%s: expected a port number, got %q", path, f[0])
	}
	return low, nil
}

func bindable(p int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

func kernelPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free loopback port: %w", err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("free loopback port: not a TCP address")
	}
	return addr.Port, nil
}

// InUse reports whether a server's output says it could not bind its port,
// as Keycloak (Quarkus) and PostgreSQL put it.
func InUse(output string) bool {
	return strings.Contains(output, "Address already in use") || strings.Contains(output, "Port already bound")
}

// Offset returns an offset o such that base+o is, for every base, a free
// loopback port below the kernel's ephemeral range not handed out before,
// and marks those ports handed out. A protocol that derives one port from
// another with an offset of its own configuration (JGroups' failure
// detector: it connects to a peer's transport port plus its own offset)
// needs the same offset on every peer.
func Offset(bases []int) (int, error) {
	low, err := ephemeralLow(rangeFile)
	if err != nil {
		return 0, err
	}
	hi := 0
	for _, b := range bases {
		hi = max(hi, b)
	}
	if low-hi < 2 {
		return 0, fmt.Errorf("no room for an offset from %v below the ephemeral range (%d)", bases, low)
	}
	mu.Lock()
	defer mu.Unlock()
	for range 200 {
		o := 1 + rand.IntN(low-hi-1)
		ok := true
		for _, b := range bases {
			if p := b + o; issued[p] || !bindable(p) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		for _, b := range bases {
			issued[b+o] = true
		}
		return o, nil
	}
	return 0, fmt.Errorf("no common free offset from %v below %d after 200 tries", bases, low)
}
