package selftest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
	"kcconform/pkg/repro"
)

// expectBundle checks the nested run's reproduction bundles (one per spec
// that broke a promise) and returns one that replays the promise named.
func (s selfTest) expectBundle(r framework.NestedRun, promise string) string {
	GinkgoHelper()
	manifests, err := filepath.Glob(filepath.Join(r.Reports, "repro", "*", "manifest.json"))
	Expect(err).NotTo(HaveOccurred())
	Expect(manifests).NotTo(BeEmpty(), "reproduction bundles in %s", r.Reports)
	found := ""
	for _, mf := range manifests {
		dir := filepath.Dir(mf)
		Expect(r.Output).To(ContainSubstring("reproduction bundle: " + dir))
		for _, f := range []string{"realm.json", "requests.txt", "reproduce.sh", "README.md"} {
			Expect(filepath.Join(dir, f)).To(BeAnExistingFile())
		}
		m, err := repro.Read(dir)
		Expect(err).NotTo(HaveOccurred())
		if m.Replayed != nil && strings.HasPrefix(m.Replayed.Promise, promise) && found == "" {
			found = dir
		}
	}
	Expect(found).NotTo(BeEmpty(), "a bundle that replays %s among %v", promise, manifests)
	return found
}

// replay copies a bundle to an empty folder, changes its realm with mend
// (nil: none), runs kcconform --replay there and returns the output and
// exit status.
func (s selfTest) replay(ctx context.Context, bundle string, mend func(realm map[string]any)) (string, int) {
	GinkgoHelper()
	dst := filepath.Join(GinkgoT().TempDir(), "bundle")
	Expect(os.CopyFS(dst, os.DirFS(bundle))).To(Succeed())
	if mend != nil {
		p := filepath.Join(dst, "realm.json")
		b, err := os.ReadFile(p)
		Expect(err).NotTo(HaveOccurred())
		var realm map[string]any
		Expect(json.Unmarshal(b, &realm)).To(Succeed())
		mend(realm)
		b, err = json.Marshal(realm)
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(p, b, 0o600)).To(Succeed())
	}
	cmd := exec.CommandContext(ctx, s.Binary(), "--replay", dst)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		Fail("kcconform --replay: " + err.Error())
	}
	return string(out), cmd.ProcessState.ExitCode()
}
