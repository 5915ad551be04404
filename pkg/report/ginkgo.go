package report

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// Suite is the part of a Ginkgo JSON report (types.Report) kcconform reads.
type Suite struct {
	Description string        `json:"SuiteDescription"`
	Succeeded   bool          `json:"SuiteSucceeded"`
	RunTime     time.Duration `json:"RunTime"`
	Specs       []Spec        `json:"SpecReports"`
}

// Spec is the part of a Ginkgo spec report kcconform reads.
type Spec struct {
	Containers []string      `json:"ContainerHierarchyTexts"`
	Text       string        `json:"LeafNodeText"`
	NodeType   string        `json:"LeafNodeType"`
	Labels     []string      `json:"LeafNodeLabels"`
	State      string        `json:"State"`
	RunTime    time.Duration `json:"RunTime"`
	Failure    *struct {
		Message string `json:"Message"`
	} `json:"Failure"`
	Entries []Entry `json:"ReportEntries"`
}

// Entry is a report entry.
type Entry struct {
	Name  string `json:"Name"`
	Value struct {
		AsJSON         string `json:"AsJSON"`
		Representation string `json:"Representation"`
	} `json:"Value"`
}

// FullText is the spec's text with its containers, as Ginkgo prints it.
func (s Spec) FullText() string {
	return strings.TrimSpace(strings.Join(append(append([]string(nil), s.Containers...), s.Text), " "))
}

// IsTest reports whether the spec is an It (not a suite-level node).
func (s Spec) IsTest() bool { return s.NodeType == "It" }

// FailureMessage is the failure's message ("" when it did not fail).
func (s Spec) FailureMessage() string {
	if s.Failure == nil {
		return ""
	}
	return s.Failure.Message
}

// Failed reports whether the spec ended in a failure state.
func (s Spec) Failed() bool {
	switch s.State {
	case "failed", "panicked", "aborted", "timedout", "interrupted":
		return true
	}
	return false
}

// FilteredOut reports a spec a label filter or focus left out: skipped with
// no reason (a spec's own Skip always gives one).
func (s Spec) FilteredOut() bool { return s.State == "skipped" && s.FailureMessage() == "" }

// Steps returns the verdict entries the spec recorded.
func (s Spec) Steps() []Step {
	var out []Step
	for _, e := range s.Entries {
		if e.Name == EntryVerdict {
			if st, ok := decodeEntry[Step](e.Value.AsJSON); ok {
				out = append(out, st)
			}
		}
	}
	return out
}

// Load reads a Ginkgo JSON report.
func Load(path string) ([]Suite, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var suites []Suite
	if err := json.Unmarshal(b, &suites); err != nil {
		return nil, fmt.Errorf("%s: expected a Ginkgo JSON report: %w", path, err)
	}
	return suites, nil
}
