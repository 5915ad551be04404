package dist

import (
	"fmt"
	"kcconform/pkg/release"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// JDK is an installed Java runtime.
type JDK struct {
	Home  string
	Major int
}

// jdkRoots are where Debian and Temurin packages install JDKs.
var jdkRoots = []string{"/usr/lib/jvm"}

// SupportedJavaMajors lists, in order of preference, the Java versions a
// Keycloak version runs on (its release line's, releases.go).
func SupportedJavaMajors(version string) []int {
	r, _ := release.LineOf(version)
	return r.Java
}

// FindJDK picks a JDK for a Keycloak version: javaHome when set (it must be
// supported), else the most preferred supported JDK installed.
func FindJDK(version, javaHome string) (JDK, error) {
	supported := SupportedJavaMajors(version)
	if javaHome != "" {
		j, err := readJDK(javaHome)
		if err != nil {
			return JDK{}, fmt.Errorf("JAVA_HOME: %w", err)
		}
		if !containsInt(supported, j.Major) {
			return JDK{}, fmt.Errorf("JAVA_HOME: %s is Java %d; Keycloak %s expects Java %s", javaHome, j.Major, version, joinInts(supported))
		}
		return j, nil
	}
	var found []JDK
	for _, root := range jdkRoots {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			j, err := readJDK(filepath.Join(root, e.Name()))
			if err == nil {
				found = append(found, j)
			}
		}
	}
	for _, major := range supported {
		for _, j := range found {
			if j.Major == major {
				return j, nil
			}
		}
	}
	var seen []string
	for _, j := range found {
		seen = append(seen, fmt.Sprintf("%s (Java %d)", j.Home, j.Major))
	}
	if len(seen) == 0 {
		seen = []string{"none"}
	}
	return JDK{}, fmt.Errorf("JAVA_HOME: Keycloak %s expects Java %s; installed under %s: %s",
		version, joinInts(supported), strings.Join(jdkRoots, ", "), strings.Join(seen, ", "))
}

// readJDK reads a JDK's major version from its release file.
func readJDK(home string) (JDK, error) {
	if fi, err := os.Stat(filepath.Join(home, "bin", "java")); err != nil || fi.IsDir() {
		return JDK{}, fmt.Errorf("%s: expected a JDK with bin/java", home)
	}
	b, err := os.ReadFile(filepath.Join(home, "release"))
	if err != nil {
		return JDK{}, fmt.Errorf("%s: expected a JDK release file: %w", home, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "JAVA_VERSION="); ok {
			v = strings.Trim(v, "\"\r ")
			v = strings.TrimPrefix(v, "1.") // 1.8 style
			major, err := strconv.Atoi(strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '+' || r == '-' })[0])
			if err != nil {
				return JDK{}, fmt.Errorf("%s: JAVA_VERSION %q: expected a number", home, v)
			}
			real, err := filepath.EvalSymlinks(home)
			if err != nil {
				real = home
			}
			return JDK{Home: real, Major: major}, nil
		}
	}
	return JDK{}, fmt.Errorf("%s: release file has no JAVA_VERSION", home)
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func joinInts(xs []int) string {
	s := append([]int(nil), xs...)
	sort.Ints(s)
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, " or ")
}

// LockFile takes an exclusive lock, so that parallel runs do not fetch or
// build the same version twice at once.
func LockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
