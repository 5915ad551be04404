package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"
)

// Column is one run of a matrix: a Keycloak version, or an upgrade path.
type Column struct {
	Name string
	Run  *Run
	// Err is why the run gave no report, if it gave none.
	Err string
}

// Cell states besides the check results.
const (
	CellSkipped    = "skipped"
	CellNotRun     = "-"
	CellCutShort   = "cut short"
	CellAsIntended = "FAIL (as intended)"
)

// Cell is one promise in one column.
type Cell struct {
	State    string // pass, FAIL, n/a, skipped or -
	Expected string
	Sent     string
	Hint     string
}

// MatrixRow is one promise across the columns.
type MatrixRow struct {
	Class   Class
	Promise string
	Cells   []Cell
}

// Matrix is a table of promises (rows) by runs (columns).
type Matrix struct {
	Title   string
	Columns []Column
	// Plot, when set, is a PNG picture shown in the HTML report (embedded,
	// so that the page stays one file).
	Plot []byte
	// Phases are the durations of a run's long steps.
	Phases []Phase
}

// Rows aggregates each column's checks per promise: FAIL if any check of the
// promise failed (not cut short), else pass if any passed, else n/a if it
// did not apply; skipped where the run skipped specs and never reached it.
func (m Matrix) Rows() []MatrixRow {
	type key struct {
		class   Class
		promise string
	}
	var order []key
	seen := map[key]bool{}
	var all []Row
	for _, col := range m.Columns {
		if col.Run != nil {
			all = append(all, col.Run.Rows...)
		}
	}
	for _, r := range byCatalogue(all) {
		k := key{r.Class, r.Promise}
		if !seen[k] {
			seen[k] = true
			order = append(order, k)
		}
	}
	rows := make([]MatrixRow, 0, len(order))
	for _, k := range order {
		row := MatrixRow{Class: k.class, Promise: k.promise}
		for _, col := range m.Columns {
			row.Cells = append(row.Cells, cellOf(col, k.class, k.promise))
		}
		rows = append(rows, row)
	}
	return rows
}

// classRank puts promises first (procedure, RFC 6749, OIDC), extras last.
var classRank = map[Class]int{Procedure: 0, RFC6749: 1, OIDC: 2, Extra: 3}

// byCatalogue orders rows as the catalogue of promises does (Check.Rank),
// within each class; rows of no catalogue promise follow, in the order
// given. Two runs of the same server thus list their rows alike, whatever
// order their specs ran in.
func byCatalogue(rows []Row) []Row {
	out := append([]Row(nil), rows...)
	rank := func(r Row) int {
		if r.Rank == 0 {
			return 1 << 30
		}
		return r.Rank
	}
	sort.SliceStable(out, func(i, j int) bool {
		if ci, cj := classRank[out[i].Class], classRank[out[j].Class]; ci != cj {
			return ci < cj
		}
		if rank(out[i]) != rank(out[j]) {
			return rank(out[i]) < rank(out[j])
		}
		return out[i].Promise < out[j].Promise
	})
	return out
}

func cellOf(col Column, class Class, promise string) Cell {
	if col.Run == nil {
		return Cell{State: CellNotRun, Sent: col.Err}
	}
	var pass, na, other, notReached *Row
	for i := range col.Run.Rows {
		r := &col.Run.Rows[i]
		if r.Class != class || r.Promise != promise {
			continue
		}
		switch {
		case r.Failed() && !r.CutShort && !r.AsIntended:
			return Cell{State: string(Fail), Expected: r.Expected, Sent: r.Sent, Hint: r.Hint}
		case r.Result == Pass && pass == nil:
			pass = r
		case r.Result == NotApplicable && na == nil:
			na = r
		case r.Result == NotReached && notReached == nil:
			notReached = r
		case r.Failed() && other == nil:
			other = r
		}
	}
	switch {
	case other != nil && other.CutShort:
		return Cell{State: CellCutShort, Expected: other.Expected, Sent: other.Sent}
	case pass != nil:
		// A self-check's failure (as intended) says the check can fail; the
		// server's own answer is the pass.
		return Cell{State: string(Pass), Expected: pass.Expected, Sent: pass.Sent}
	case other != nil:
		return Cell{State: CellAsIntended, Expected: other.Expected, Sent: other.Sent}
	case na != nil:
		return Cell{State: string(NotApplicable), Expected: na.Expected, Sent: na.Sent, Hint: na.Hint}
	case notReached != nil:
		return Cell{State: string(NotReached), Expected: notReached.Expected, Sent: notReached.Sent}
	case col.Run.Skipped > 0:
		return Cell{State: CellSkipped}
	}
	return Cell{State: CellNotRun}
}

// OK reports whether every column passed.
func (m Matrix) OK() bool {
	for _, c := range m.Columns {
		if c.Run == nil || !c.Run.OK() {
			return false
		}
	}
	return len(m.Columns) > 0
}

// WriteText writes the matrix as a terminal table.
func (m Matrix) WriteText(w io.Writer) {
	header := []string{"CLASS", "PROMISE"}
	for _, c := range m.Columns {
		header = append(header, c.Name)
	}
	rows := [][]string{header}
	for _, r := range m.Rows() {
		line := []string{string(r.Class), clip(r.Promise, 60)}
		for _, c := range r.Cells {
			line = append(line, c.State)
		}
		rows = append(rows, line)
	}
	writeAligned(w, rows)
	for _, c := range m.Columns {
		switch {
		case c.Run == nil:
			fmt.Fprintf(w, "%s: COULD NOT RUN: %s\n", c.Name, c.Err)
		default:
			fmt.Fprintf(w, "%s: %s\n", c.Name, c.Run.Headline())
		}
	}
	if m.OK() {
		fmt.Fprintln(w, "matrix: PASS")
	} else {
		fmt.Fprintln(w, "matrix: FAIL")
	}
}

func writeAligned(w io.Writer, rows [][]string) {
	widths := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// WriteMarkdown writes the matrix as GitHub-flavoured Markdown, for a CI job
// summary.
func (m Matrix) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "## %s\n\n", mdEscape(m.title()))
	for _, c := range m.Columns {
		status := "COULD NOT RUN: " + c.Err
		if c.Run != nil {
			status = c.Run.Headline()
		}
		fmt.Fprintf(w, "- **%s**: %s\n", mdEscape(c.Name), mdEscape(status))
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "| class | promise |")
	for _, c := range m.Columns {
		fmt.Fprintf(w, " %s |", mdEscape(c.Name))
	}
	fmt.Fprint(w, "\n|---|---|")
	for range m.Columns {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, r := range m.Rows() {
		fmt.Fprintf(w, "| %s | %s |", mdEscape(string(r.Class)), mdEscape(r.Promise))
		for _, c := range r.Cells {
			text := c.State
			if c.State == string(Fail) {
				text = "**FAIL**: sent " + clip(c.Sent, 60)
				if c.Hint != "" {
					text += " (" + clip(c.Hint, 100) + ")"
				}
			}
			fmt.Fprintf(w, " %s |", mdEscape(text))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func (m Matrix) title() string {
	if m.Title != "" {
		return m.Title
	}
	return "kcconform verdict"
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "<", "&lt;")
}

// WriteHTML writes the matrix as one self-contained HTML page (no script, no
// outside resource but the optional plot next to it): the verdict of each
// column, the table with each cell's state, the value sent and the hint, and
// the servers, settings and durations.
func (m Matrix) WriteHTML(w io.Writer) error {
	type col struct {
		Name, Status, Headline string
		Servers                []string
		Settings               []Settings
		Leftovers              []Leftover
		Duration               string
	}
	data := struct {
		Title     string
		Generated string
		Columns   []col
		Rows      []MatrixRow
		Plot      template.URL
		Phases    []Phase
		OK        bool
	}{Title: m.title(), Generated: time.Now().UTC().Format(time.RFC3339), Rows: m.Rows(), Phases: m.Phases, OK: m.OK()}
	if len(m.Plot) > 0 {
		data.Plot = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(m.Plot))
	}
	for _, c := range m.Columns {
		cc := col{Name: c.Name}
		if c.Run == nil {
			cc.Status, cc.Headline = string(StatusCouldNot), c.Err
		} else {
			st, why := c.Run.Verdict()
			cc.Status, cc.Headline = string(st), why
			for _, s := range c.Run.Servers {
				cc.Servers = append(cc.Servers, Describe(s))
			}
			cc.Settings, cc.Leftovers = c.Run.Settings, c.Run.Leftovers
			cc.Duration = c.Run.Duration.Round(100 * time.Millisecond).String()
		}
		data.Columns = append(data.Columns, cc)
	}
	return pageTemplate.Execute(w, data)
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"stateClass": func(s string) string {
		switch s {
		case string(Pass):
			return "pass"
		case string(Fail):
			return "fail"
		case string(NotApplicable):
			return "na"
		case CellSkipped, string(NotReached):
			return "skipped"
		}
		return "notrun"
	},
	"statusClass": func(s string) string {
		if s == string(StatusPass) {
			return "pass"
		}
		return "fail"
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#1a1a1a}
h1{font-size:1.4em}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #bbb;padding:.3em .5em;vertical-align:top;font-size:.9em}
th{background:#eee;text-align:left}
td.pass{background:#d9f2d9}td.fail{background:#f8d0d0;font-weight:bold}
td.na{background:#eceff5}td.skipped{background:#fff3cd}td.notrun{color:#888}
.status.pass{color:#176117}.status.fail{color:#a11}
.detail{font-weight:normal;font-size:.85em;color:#333;display:block;max-width:28em;word-break:break-word}
.class{white-space:nowrap;color:#555}
</style></head><body>
<h1>{{.Title}}</h1>
<p id="overall" class="status {{if .OK}}pass{{else}}fail{{end}}">{{if .OK}}PASS{{else}}FAIL{{end}} &middot; generated {{.Generated}}</p>
<ul id="columns">{{range .Columns}}
<li data-column="{{.Name}}"><b>{{.Name}}</b>: <span class="status {{statusClass .Status}}">{{.Status}}</span>: {{.Headline}}{{if .Duration}} ({{.Duration}}){{end}}
{{range .Servers}}<br><small>server: {{.}}</small>{{end}}
{{range .Leftovers}}<br><small class="status fail">{{.String}}</small>{{end}}</li>{{end}}
</ul>
<table id="verdict"><thead><tr><th>class</th><th>promise</th>{{range .Columns}}<th data-column="{{.Name}}">{{.Name}}</th>{{end}}</tr></thead>
<tbody>{{range $r := .Rows}}<tr data-promise="{{$r.Promise}}"><td class="class">{{$r.Class}}</td><td>{{$r.Promise}}</td>{{range $i, $c := $r.Cells}}<td class="cell {{stateClass $c.State}}" data-state="{{$c.State}}" data-index="{{$i}}">{{$c.State}}{{if $c.Sent}}<span class="detail">sent: {{$c.Sent}}</span>{{end}}{{if $c.Expected}}<span class="detail">expected: {{$c.Expected}}</span>{{end}}{{if $c.Hint}}<span class="detail">{{if eq $c.State "n/a"}}why: {{else}}hint: {{end}}{{$c.Hint}}</span>{{end}}</td>{{end}}</tr>
{{end}}</tbody></table>
{{range .Columns}}{{$name := .Name}}{{range .Settings}}<h2>Settings read with admin rights ({{$name}}): realm {{.Realm}}, client {{.ClientID}}</h2><ul>{{range .Lines}}<li>{{.}}</li>{{end}}</ul>{{end}}{{end}}
{{if .Phases}}<h2>Durations</h2><table id="phases">{{range .Phases}}<tr><td>{{.Name}}</td><td>{{printf "%.1f s" .Seconds}}</td></tr>{{end}}</table>{{end}}
{{if .Plot}}<h2>Latency against throughput</h2><p><img id="plot" src="{{.Plot}}" alt="latency against throughput" style="max-width:100%"></p>{{end}}
</body></html>
`))
