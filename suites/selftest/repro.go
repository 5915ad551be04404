package selftest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
	"kcconform/pkg/repro"
)

// expectBundle finds the nested run's one reproduction bundle and checks
// that it replays the promise named.
func (s selfTest) expectBundle(r framework.NestedRun, promise string) string {
	GinkgoHelper()
	manifests, err := filepath.Glob(filepath.Join(r.Reports, "repro", "*", "manifest.json"))
	Expect(err).NotTo(HaveOccurred())
	Expect(manifests).To(HaveLen(1), "one reproduction bundle in %s", r.Reports)
	dir := filepath.Dir(manifests[0])
	Expect(r.Output).To(ContainSubstring("reproduction bundle: " + dir))
	m, err := repro.Read(dir)
	Expect(err).NotTo(HaveOccurred())
	Expect(m.Replayed).NotTo(BeNil(), "the bundle replays a promise")
	Expect(m.Replayed.Promise).To(HavePrefix(promise))
	for _, f := range []string{"realm.json", "requests.txt", "reproduce.sh", "README.md"} {
		Expect(filepath.Join(dir, f)).To(BeAnExistingFile())
	}
	return dir
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
