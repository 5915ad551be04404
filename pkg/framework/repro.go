package framework

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/onsi/ginkgo/v2"

	"kcconform/pkg/contract"
	"kcconform/pkg/report"
	"kcconform/pkg/repro"
)

// WriteRepro writes the failed spec's reproduction bundle into the report
// folder's repro/ (package repro): the failed checks it recorded, the realm
// as it is now (a partial export, redacted), the requests it sent and the
// server log's tail. A spec that recorded no failed check (it could not run)
// gets none. It reports where the bundle went; a bundle that cannot be
// written is reported, never a second failure.
func (s *Session) WriteRepro(ctx context.Context, suite string) {
	if s.Realm == nil || s.Config.ReportDir == "" {
		return
	}
	spec := ginkgo.CurrentSpecReport()
	m := repro.Manifest{
		Version: s.Server.Version, Target: s.Server.Target, Suite: suite, Spec: spec.FullText(),
		Realm: s.Realm.Name, ClientID: s.Realm.Client.ClientID, Created: time.Now().UTC(),
		Settings: map[string]string{"mode": s.Mode, "profile": s.Profile.Name},
	}
	if s.Run.Settings.Fixture != "" {
		m.Settings["fixture"] = filepath.Base(s.Run.Settings.Fixture)
	}
	var b repro.Bundle
	for _, e := range spec.ReportEntries {
		switch e.Name {
		case report.EntryVerdict:
			st, ok := e.Value.GetRawValue().(report.Step)
			if !ok {
				continue
			}
			for _, c := range report.Failed(st.Checks) {
				f := repro.Failure{Promise: c.Promise, Key: c.ID, Expected: c.Expected, Sent: c.Sent, Hint: c.Hint}
				m.Failures = append(m.Failures, f)
				if m.Scenario != nil {
					continue
				}
				if id, ok := contract.ByKey(c.ID); ok {
					if sc, ok := repro.ScenarioFor(id, s.Profile, s.Server.Version); ok {
						m.Scenario, m.Replayed = &sc, &f
					}
				}
			}
		case report.EntryReplay:
			b.Requests = append(b.Requests, e.Value.String())
		}
	}
	if len(m.Failures) == 0 {
		return
	}
	if s.Admin != nil {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if raw, err := s.Admin.PartialExport(ctx, s.Realm.Name); err == nil {
			b.Realm = []byte(s.Run.Redactor.String(string(raw)))
		} else {
			ginkgo.AddReportEntry("reproduction bundle", "the realm could not be exported: "+s.Run.Redactor.String(err.Error()))
		}
	}
	if s.Server.LogFile != "" {
		b.ServerLog = s.Run.Redactor.String(report.TailFile(s.Server.LogFile, 200))
	}
	b.Manifest = m
	dir := filepath.Join(s.Config.ReportDir, "repro", repro.Folder(spec.LeafNodeText, ginkgo.GinkgoParallelProcess()))
	if err := repro.Write(dir, b); err != nil {
		ginkgo.AddReportEntry("reproduction bundle", "not written: "+err.Error())
		return
	}
	what := "no scripted replay for these promises; the requests are in requests.txt"
	if m.Replayed != nil {
		what = fmt.Sprintf("bash %s reproduces %q on Keycloak %s", filepath.Join(dir, "reproduce.sh"), m.Replayed.Promise, m.Version)
	}
	ginkgo.AddReportEntry("reproduction bundle", dir+": "+what)
}
