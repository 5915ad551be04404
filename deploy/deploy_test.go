// Package deploy holds what runs kcconform's upgrade commands where users
// deploy Keycloak: a Helm chart whose hooks run before and after around an
// upgrade, and plain Kubernetes Jobs for the Keycloak Operator. No
// Kubernetes API server runs here: these tests render the chart with Helm's
// own `helm template` and decode every object strictly (an unknown or
// misspelt field fails) into the Kubernetes API's types.
package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// helmBinary is Helm v4 as scripts/install-deps.sh builds it from its Go
// module (HELM names another).
func helmBinary(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	if h, err := exec.LookPath("helm"); err == nil {
		return h
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		h := filepath.Join(strings.TrimSpace(string(out)), "bin", "helm")
		if _, err := os.Stat(h); err == nil {
			return h
		}
	}
	t.Fatal("helm is not installed: make deps builds it (go install helm.sh/helm/v4/cmd/helm), or set HELM")
	return ""
}

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// object is one decoded Kubernetes object.
type object struct {
	kind, name string
	hook       string
	job        *batchv1.Job
	claim      *corev1.PersistentVolumeClaim
}

// decodeStrict decodes a stream of YAML documents into the API's types,
// refusing unknown fields and kinds this project does not ship.
func decodeStrict(stream string) ([]object, error) {
	var objs []object
	for _, doc := range strings.Split(stream, "\n---") {
		doc = strings.TrimPrefix(strings.TrimSpace(doc), "---")
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, err
		}
		o := object{kind: tm.Kind}
		var meta *metav1.ObjectMeta
		var err error
		switch tm.APIVersion + " " + tm.Kind {
		case "batch/v1 Job":
			o.job = &batchv1.Job{}
			err, meta = yaml.UnmarshalStrict([]byte(doc), o.job), &o.job.ObjectMeta
		case "v1 PersistentVolumeClaim":
			o.claim = &corev1.PersistentVolumeClaim{}
			err, meta = yaml.UnmarshalStrict([]byte(doc), o.claim), &o.claim.ObjectMeta
		default:
			return nil, fmt.Errorf("unexpected object %s %s", tm.APIVersion, tm.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tm.Kind, err)
		}
		o.name, o.hook = meta.Name, meta.Annotations["helm.sh/hook"]
		objs = append(objs, o)
	}
	return objs, nil
}

func stripComments(doc string) string {
	var keep []string
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

var chartValues = []string{"--set", "keycloak.url=https://keycloak.example.com", "--set", "keycloak.realm=shasta", "--set", "keycloak.clientId=my-test-client"}

func TestHelmChartRendersStrictObjects(t *testing.T) {
	out, err := helm(t, append([]string{"template", "rel", "helm/kcconform", "--is-upgrade", "--namespace", "iam"}, chartValues...)...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeStrict(out)
	if err != nil {
		t.Fatalf("the rendered chart does not decode strictly: %v\n%s", err, out)
	}
	byName := map[string]object{}
	for _, o := range objs {
		byName[o.name] = o
	}
	for name, hook := range map[string]string{
		"rel-kcconform-state": "pre-upgrade", "rel-kcconform-before": "pre-upgrade", "rel-kcconform-after": "post-upgrade",
		// The watch is no hook: it runs while the upgrade rolls.
		"rel-kcconform-watch-1": "",
	} {
		o, ok := byName[name]
		if !ok {
			t.Fatalf("no object %s in the rendered chart:\n%s", name, out)
		}
		if o.hook != hook {
			t.Errorf("%s: hook %q, want %q", name, o.hook, hook)
		}
	}
	if len(objs) != 4 {
		t.Errorf("%d objects rendered, want 4 (claim, before, watch, after)", len(objs))
	}
	for _, o := range objs {
		if o.job != nil {
			checkJob(t, o.job, strings.TrimPrefix(o.name, "rel-kcconform-"))
		}
	}
}

// checkJob checks what every Job of kcconform needs: its command first, the
// secret from a Secret, never a value, the key mounted read-only, a
// non-root pod, and the claim.
func checkJob(t *testing.T, j *batchv1.Job, want string) {
	t.Helper()
	command := strings.TrimSuffix(want, "-1")
	spec := j.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers", j.Name, len(spec.Containers))
	}
	c := spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != command {
		t.Errorf("%s: args %q, want %s first", j.Name, c.Args, command)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if s := env["KC_CLIENT_SECRET"]; s.Value != "" || s.ValueFrom == nil || s.ValueFrom.SecretKeyRef == nil {
		t.Errorf("%s: KC_CLIENT_SECRET must come from a Secret", j.Name)
	}
	for _, k := range []string{"KC_URL", "KC_REALM", "KC_CLIENT_ID", "KC_STATE_FILE", "KC_STATE_KEY_FILE"} {
		if env[k].Value == "" {
			t.Errorf("%s: %s is not set", j.Name, k)
		}
	}
	if env["KC_TARGET"].Value != "external" {
		t.Errorf("%s: KC_TARGET %q", j.Name, env["KC_TARGET"].Value)
	}
	if spec.RestartPolicy != corev1.RestartPolicyNever || j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit != 0 {
		t.Errorf("%s: a failed command must fail the Job (restartPolicy Never, backoffLimit 0)", j.Name)
	}
	if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: the pod must run as non-root", j.Name)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	if !mounts["state-key"].ReadOnly || !strings.HasPrefix(env["KC_STATE_KEY_FILE"].Value, mounts["state-key"].MountPath+"/") {
		t.Errorf("%s: the state key must be the Secret mounted read-only", j.Name)
	}
	if !strings.HasPrefix(env["KC_STATE_FILE"].Value, mounts["state"].MountPath+"/") {
		t.Errorf("%s: the state file must be on the claim", j.Name)
	}
	claimed := false
	for _, v := range spec.Volumes {
		if v.Name == "state" && v.PersistentVolumeClaim != nil {
			claimed = true
		}
	}
	if !claimed {
		t.Errorf("%s: no claim for the state", j.Name)
	}
}

func TestHelmChartInstallHasNoWatchAndNeedsTheURL(t *testing.T) {
	out, err := helm(t, append([]string{"template", "rel", "helm/kcconform"}, chartValues...)...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeStrict(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if strings.Contains(o.name, "watch") {
			t.Errorf("a first install renders the watch %s: there is no upgrade to watch", o.name)
		}
	}
	_, err = helm(t, "template", "rel", "helm/kcconform", "--is-upgrade")
	if err == nil || !strings.Contains(err.Error(), "keycloak.url is required") {
		t.Errorf("no keycloak.url: got %v", err)
	}
	if _, err := helm(t, append([]string{"lint", "helm/kcconform"}, chartValues...)...); err != nil {
		t.Error(err)
	}
}

func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	files, _ := filepath.Glob("kubernetes/*.yaml")
	if len(files) != 4 {
		t.Fatalf("kubernetes/: %d manifests, want 4 (claim, before, watch, after)", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeStrict(string(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, o := range objs {
			if o.job != nil {
				checkJob(t, o.job, strings.TrimPrefix(o.name, "kcconform-"))
			}
		}
	}
}

// The strict decoding can fail: a misspelt field is refused.
func TestDecodeStrictRefusesUnknownFields(t *testing.T) {
	b, err := os.ReadFile("kubernetes/after-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), "backoffLimit: 0", "backoffLimit: 0\n  backofLimit: 0", 1)
	if _, err := decodeStrict(bad); err == nil || !strings.Contains(err.Error(), "backofLimit") {
		t.Fatalf("a misspelt field decoded: %v", err)
	}
	if _, err := decodeStrict("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n"); err == nil || !strings.Contains(err.Error(), "unexpected object") {
		t.Fatalf("an unexpected kind decoded: %v", err)
	}
}
