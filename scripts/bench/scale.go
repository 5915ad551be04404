package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"kcconform/fixtures"
	"kcconform/pkg/admin"
	"kcconform/pkg/contract"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/keycloak/cluster"
	"kcconform/pkg/keycloak/launch"
	"kcconform/pkg/random"
	"kcconform/pkg/redact"
	"kcconform/pkg/seed"
	"kcconform/pkg/tokenflow"
)

// scaleResult is one size on one upgrade path: N offline sessions made by
// real grants on FROM (PostgreSQL), FROM restarted, then upgraded to TO.
type scaleResult struct {
	N    int
	From string
	To   string
	// Heap is the JVM's -Xmx where the run set one (the release's default
	// otherwise).
	Heap string `json:",omitempty"`
	// Commit is kcconform's commit that measured the row.
	Commit  string `json:",omitempty"`
	Clients int
	// Sessions is the realm's offline-session count through the admin API
	// after seeding.
	Sessions int
	// SeedSeconds and SeedRate are the seeding's; VegetaRate raw vegeta's
	// grant rate on the same server (before and after the seeding, in a
	// realm of its own), Ratio SeedRate to its mean; GrantsPerCPUSecond
	// the grants per second of Keycloak's CPU time while seeding.
	SeedSeconds, SeedRate, GrantsPerCPUSecond float64
	VegetaRate                                []float64
	Ratio                                     float64
	// Boot times (to ready: health UP and an admin token): FROM on a fresh
	// database, FROM again holding the sessions, TO migrating them.
	BootFresh, BootRestart, BootUpgrade float64
	// MigrationLines are TO's log lines that name a migration.
	MigrationLines []string
	// Sample is how many stored tokens were refreshed after the restart and
	// after the upgrade; RefusedRestart and RefusedUpgrade how many of them
	// were refused (a lost session).
	Sample, RefusedRestart, RefusedUpgrade int
	// PeakRSSFrom and PeakRSSTo are Keycloak's peak resident memory (MiB,
	// VmHWM of its process group) on FROM after the restart and on TO.
	PeakRSSFrom, PeakRSSTo float64
	// DatabaseMiB is PostgreSQL's database size after the upgrade; Rows the
	// session tables' rows before and after it.
	DatabaseMiB float64
	RowsBefore  map[string]int
	RowsAfter   map[string]int
	Err         string `json:",omitempty"`
}

// scaleOptions are a scale run's knobs besides N and the path.
type scaleOptions struct {
	// Sample is how many stored tokens are refreshed after the restart and
	// the upgrade; Clients how many clients the sessions spread over.
	Sample, Clients int
	// Heap is the JVM's maximum heap (-Xmx), e.g. 2g; empty keeps the
	// release's default (512 MiB before 25).
	Heap string
}

func (so scaleOptions) javaOptions() []string {
	if so.Heap == "" {
		return nil
	}
	return []string{"-Xmx" + so.Heap}
}

// scaleRun measures one size on one path. It returns what it measured up to
// a failure, with the failure in Err.
func scaleRun(ctx context.Context, cfg keycloak.Config, red *redact.Redactor, n int, from, to string, so scaleOptions) (res scaleResult) {
	sample, clients := so.Sample, so.Clients
	sessionTables := []string{"offline_user_session", "offline_client_session"}
	res = scaleResult{N: n, From: from, To: to, Heap: so.Heap, Clients: clients, RowsBefore: map[string]int{}, RowsAfter: map[string]int{}}
	defer func() {
		if r := recover(); r != nil {
			res.Err = red.String(fmt.Sprint(r))
		}
	}()
	cfgFrom := cfg
	cfgFrom.Version = from
	db, err := launch.StartDatabase(ctx, cfgFrom, nil, red)
	check(err, "start PostgreSQL")
	defer db.Remove(context.Background())
	old := db.NewServer(cfgFrom, keycloak.Options{Redactor: red, JavaOptions: so.javaOptions()})
	defer old.Remove(context.Background())
	began := time.Now()
	check(old.Up(ctx), "start Keycloak "+from)
	res.BootFresh = time.Since(began).Seconds()
	info := old.Info()
	ac, err := info.AdminClient(red)
	check(err, "admin client")

	name, flows := scaleClients(ctx, info, ac, red, clients)

	vegetaRealm, vegetaSecret, removeVegeta := benchRealm(ctx, info, red, "kcconform-scale-vegeta-")
	fmt.Fprintf(os.Stderr, "== bench-scale: %d offline sessions on %s over %d clients\n", n, from, clients)
	pg := old.(interface{ ProcessGroup() int }).ProcessGroup()
	var seedCPU float64
	toks, vegetaRates := interleaved(n, func(lo, hi int) ([]string, float64) {
		cpu0, began := cpuSeconds(pg), time.Now()
		part := takeTokens(ctx, info, flows, lo, hi)
		seedCPU += cpuSeconds(pg) - cpu0
		return part, time.Since(began).Seconds()
	}, func(k int) float64 { return rawGrants(info, vegetaRealm, vegetaSecret, k, 8) }, &res.SeedSeconds)
	res.VegetaRate = vegetaRates
	res.SeedRate = float64(n) / res.SeedSeconds
	if seedCPU > 0 {
		res.GrantsPerCPUSecond = float64(n) / seedCPU
	}
	res.Ratio = res.SeedRate / mean(res.VegetaRate)
	removeVegeta()
	res.Sessions, err = ac.OfflineSessionCount(ctx, name)
	check(err, "offline-session count")
	if res.Sessions < n {
		panic(fmt.Sprintf("%d offline sessions counted through the admin API after %d grants", res.Sessions, n))
	}

	picks := sampleOf(n, sample)
	res.Sample = len(picks)
	refresh := func() int { return refusedOf(ctx, info, flows, toks, picks) }

	fmt.Fprintf(os.Stderr, "== bench-scale: restarting %s holding %d offline sessions\n", from, n)
	check(old.Stop(ctx), "stop Keycloak "+from)
	began = time.Now()
	check(old.Up(ctx), "start Keycloak "+from+" again")
	res.BootRestart = time.Since(began).Seconds()
	res.RefusedRestart = refresh()
	res.PeakRSSFrom = peakRSS(old.(interface{ ProcessGroup() int }).ProcessGroup())
	check(old.Stop(ctx), "stop Keycloak "+from)
	for _, t := range sessionTables {
		res.RowsBefore[t] = rows(ctx, db, t)
	}

	fmt.Fprintf(os.Stderr, "== bench-scale: upgrading to %s\n", to)
	next, err := old.Successor(to)
	check(err, "successor")
	defer next.Remove(context.Background())
	began = time.Now()
	check(next.Up(ctx), "start Keycloak "+to+" on the database of "+from)
	res.BootUpgrade = time.Since(began).Seconds()
	res.MigrationLines = migrationLines(next.Info().LogFile)
	res.RefusedUpgrade = refresh()
	res.PeakRSSTo = peakRSS(next.(interface{ ProcessGroup() int }).ProcessGroup())
	for _, t := range sessionTables {
		res.RowsAfter[t] = rows(ctx, db, t)
	}
	if out, err := db.SQL(ctx, "select pg_database_size(current_database())"); err == nil {
		if b, err := strconv.ParseFloat(strings.TrimSpace(out), 64); err == nil {
			res.DatabaseMiB = b / (1 << 20)
		}
	}
	return res
}

// addClients makes the fixture's client n times in all (scale-2 … scale-n
// besides it), each with a service account that holds offline_access, and
// returns their client ids.
func addClients(realm map[string]any, n int, red *redact.Redactor) []string {
	base := fixtures.ProcedureClient(realm)
	ids := []string{fixtures.ClientID}
	users, _ := realm["users"].([]any)
	clients, _ := realm["clients"].([]any)
	for i := 2; i <= n; i++ {
		b, _ := json.Marshal(base)
		var c map[string]any
		_ = json.Unmarshal(b, &c)
		id := fmt.Sprintf("scale-%d", i)
		secret := random.Secret()
		red.AddSecret(secret)
		c["clientId"], c["secret"] = id, secret
		delete(c, "id")
		clients = append(clients, c)
		users = append(users, map[string]any{"username": "service-account-" + id, "enabled": true, "serviceAccountClientId": id,
			"realmRoles": []any{"offline_access"}})
		ids = append(ids, id)
	}
	realm["clients"], realm["users"] = clients, users
	return ids
}

// sampleOf is up to k of 0…n-1, evenly spread.
func sampleOf(n, k int) []int {
	k = min(k, n)
	out := make([]int, k)
	for j := range out {
		out[j] = j * n / k
	}
	return out
}

// rawGrants is raw vegeta's rate of n client_credentials grants with
// offline_access, conc workers, in realm.
func rawGrants(info keycloak.Info, realm, secret string, n, conc int) float64 {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"offline_access"},
		"client_id": {fixtures.ClientID}, "client_secret": {secret}}
	target := vegeta.Target{Method: http.MethodPost, URL: info.BaseURL + "/realms/" + realm + "/protocol/openid-connect/token",
		Body: []byte(form.Encode()), Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}
	a := vegeta.NewAttacker(vegeta.Timeout(30*time.Second), vegeta.KeepAlive(true), vegeta.Workers(uint64(conc)), vegeta.MaxWorkers(uint64(conc)), vegeta.MaxBody(0))
	began, ok := time.Now(), 0
	for r := range a.Attack(vegeta.NewStaticTargeter(target), vegeta.Rate{}, 0, "grants") {
		if r.Code == http.StatusOK {
			ok++
		}
		if r.Seq+1 >= uint64(n) {
			a.Stop()
		}
	}
	return float64(ok) / time.Since(began).Seconds()
}

// groupPIDs are the processes of a process group.
func groupPIDs(pgid int) []string {
	if pgid <= 0 {
		return nil
	}
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		f := statFields(e.Name())
		// Fields after the command: state, ppid, pgrp, ….
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			out = append(out, e.Name())
		}
	}
	return out
}

// statFields are /proc/PID/stat's fields after the command's name.
func statFields(pid string) []string {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return nil
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	return strings.Fields(s)
}

// cpuSeconds is a process group's user and system CPU time (clock ticks of
// 1/100 s, as Linux reports them on this machine's kind).
func cpuSeconds(pgid int) float64 {
	var ticks float64
	for _, pid := range groupPIDs(pgid) {
		f := statFields(pid)
		if len(f) > 12 {
			u, _ := strconv.ParseFloat(f[11], 64)
			s, _ := strconv.ParseFloat(f[12], 64)
			ticks += u + s
		}
	}
	return ticks / 100
}

// peakRSS is a process group's peak resident memory (VmHWM), in MiB.
func peakRSS(pgid int) float64 {
	var kb float64
	for _, pid := range groupPIDs(pgid) {
		f, err := os.Open(filepath.Join("/proc", pid, "status"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				kb += n
			}
		}
		f.Close()
	}
	return kb / 1024
}

// rows counts a table's rows.
func rows(ctx context.Context, db keycloak.Database, table string) int {
	out, err := db.SQL(ctx, "select count(*) from "+table)
	if err != nil {
		return -1
	}
	n, _ := strconv.Atoi(strings.TrimSpace(out))
	return n
}

// migrationLines are a server log's lines that name a migration.
func migrationLines(logFile string) []string {
	f, err := os.Open(logFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(strings.ToLower(l), "migrat") && len(out) < 40 {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// rollingResult is N offline sessions through a rolling upgrade of a
// 3-node cluster under load.
type rollingResult struct {
	N               int
	From, To        string
	Heap            string `json:",omitempty"`
	Commit          string `json:",omitempty"`
	Nodes           int
	Mode            string // node by node, or all at once where Keycloak forbids a rolling update
	SeedRate        float64
	UpgradeSeconds  float64
	LoadRequests    int
	LoadRefused     int            // 400 invalid_grant during the upgrade: a lost session
	LoadUnavailable int            // 5xx or no answer
	Sample, Refused int            // the stored tokens refreshed after the upgrade, and those refused
	Err             string         `json:",omitempty"`
	RefusedAnswers  map[string]int `json:",omitempty"`
}

// scaleRolling seeds n offline sessions through the gateway of a cluster of
// from, upgrades it to to node by node (or all at once where Keycloak's
// update-compatibility forbids it) while clients refresh stored tokens
// through the gateway (10 per second, as the cluster suite's load), and
// refreshes a sample after.
func scaleRolling(ctx context.Context, cfg keycloak.Config, red *redact.Redactor, n int, from, to string, so scaleOptions) (res rollingResult) {
	sample, clients := so.Sample, so.Clients
	res = rollingResult{N: n, From: from, To: to, Heap: so.Heap, Nodes: 3, RefusedAnswers: map[string]int{}}
	defer func() {
		if r := recover(); r != nil {
			res.Err = red.String(fmt.Sprint(r))
		}
	}()
	c := cfg
	c.Version = from
	cl := cluster.New(c, keycloak.Options{Redactor: red, JavaOptions: so.javaOptions()}, cluster.Options{Nodes: res.Nodes})
	defer cl.Remove(context.Background())
	check(cl.Up(ctx), "start a cluster of "+from)
	info := cl.Info()
	ac, err := info.AdminClient(red)
	check(err, "admin client")
	_, flows := scaleClients(ctx, info, ac, red, clients)
	fmt.Fprintf(os.Stderr, "== bench-scale: %d offline sessions on a %d-node cluster of %s\n", n, res.Nodes, from)
	began := time.Now()
	toks := takeTokens(ctx, info, flows, 0, n)
	res.SeedRate = float64(n) / time.Since(began).Seconds()

	// The load: 10 refreshes per second of stored tokens, through the gateway.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var mu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(100 * time.Millisecond)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer tick.Stop()
		for k := 0; ; k++ {
			select {
			case <-loadCtx.Done():
				return
			case <-tick.C:
			}
			i := (k * 7919) % n
			wg.Add(1)
			go func() {
				defer wg.Done()
				rctx, cancel := context.WithTimeout(loadCtx, info.Timeout)
				defer cancel()
				_, err := flows[i%clients].Refresh(rctx, toks[i])
				mu.Lock()
				defer mu.Unlock()
				if loadCtx.Err() != nil {
					return
				}
				res.LoadRequests++
				if e, ok := tokenflow.AsError(err); ok && e.Status == http.StatusBadRequest {
					res.LoadRefused++
					res.RefusedAnswers[contract.SentOf(err)]++
				} else if err != nil {
					res.LoadUnavailable++
				}
			}()
		}
	}()
	check2, err := cl.CheckUpdate(ctx, to)
	check(err, "update-compatibility "+to)
	mark := func(string) {}
	began = time.Now()
	if check2.Rolling {
		res.Mode = "node by node"
		for i := 0; i < cl.Size(); i++ {
			check(cl.Replace(ctx, i, to, mark), fmt.Sprintf("replace node %d by %s", i+1, to))
		}
	} else {
		res.Mode = "all at once (" + check2.String() + ")"
		_, err := cl.Recreate(ctx, to, mark)
		check(err, "recreate the cluster as "+to)
	}
	res.UpgradeSeconds = time.Since(began).Seconds()
	stopLoad()
	wg.Wait()

	picks := sampleOf(n, sample)
	res.Sample = len(picks)
	res.Refused = refusedOf(ctx, info, flows, toks, picks)
	return res
}

// check ends a scale run (its recover records the cause) where err is set.
func check(err error, what string) {
	if err != nil {
		panic(fmt.Sprintf("%s: %v", what, err))
	}
}

// scaleClients makes a realm of the fixture with clients procedure clients
// and returns its name and a token client of each.
func scaleClients(ctx context.Context, info keycloak.Info, ac *admin.Client, red *redact.Redactor, clients int) (string, []*tokenflow.Client) {
	name := "kcconform-scale-" + random.Hex(6)
	ids := make([]string, clients)
	rep, err := fixtures.Rename(fixtures.Offline, name, red, func(realm map[string]any) { ids = addClients(realm, clients, red) })
	check(err, "realm")
	check(ac.CreateRealm(ctx, rep), "create realm "+name)
	hc, err := info.HTTPClient()
	check(err, "HTTP client")
	flows := make([]*tokenflow.Client, clients)
	for i, id := range ids {
		rc, err := ac.FindClient(ctx, name, id)
		check(err, "client "+id)
		secret, err := ac.ClientSecret(ctx, name, rc.ID)
		check(err, "secret of "+id)
		flows[i] = tokenflow.NewClient(tokenflow.RealmEndpoints(info.BaseURL, name), id, secret, hc, red)
	}
	return name, flows
}

// takeTokens takes the offline tokens lo to hi-1 (a token's number picks
// its client, so the sessions spread over them).
func takeTokens(ctx context.Context, info keycloak.Info, flows []*tokenflow.Client, lo, hi int) []string {
	toks, errs := seed.Take(ctx, hi-lo, 8, 4*info.Timeout, os.Stderr, func(ctx context.Context, i int) (*tokenflow.Response, error) {
		return flows[(lo+i)%len(flows)].ClientCredentials(ctx, "offline_access")
	})
	for i, e := range errs {
		check(e, fmt.Sprintf("offline token %d of %d", lo+i+1, hi))
	}
	return toks
}

// interleaved seeds n tokens in segments (seg takes tokens lo to hi-1 and
// says how long it took) with a burst of raw vegeta grants (burst grants k
// and returns its rate) before the first and after every segment, so that
// both rates are measured on the same server, database size and JIT state
// (a vegeta run only before and after a long seeding compares a cold server
// with a warm one). It adds the seeding's time to seconds and returns the
// tokens and vegeta's rates.
func interleaved(n int, seg func(lo, hi int) ([]string, float64), burst func(k int) float64, seconds *float64) ([]string, []float64) {
	segments := min(n, scaleSegments)
	k := max(1, min(1000, n/(2*segments)))
	rates := []float64{burst(k)}
	toks := make([]string, 0, n)
	for j := 0; j < segments; j++ {
		lo, hi := j*n/segments, (j+1)*n/segments
		part, took := seg(lo, hi)
		toks = append(toks, part...)
		*seconds += took
		rates = append(rates, burst(k))
	}
	return toks, rates
}

// scaleSegments is how many parts the seeding is cut into, with a vegeta
// burst between them.
const scaleSegments = 10

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// refusedOf refreshes the stored tokens picks names (8 at a time, a busy
// server retried) and counts those refused.
func refusedOf(ctx context.Context, info keycloak.Info, flows []*tokenflow.Client, toks []string, picks []int) int {
	refused := make([]bool, len(picks))
	seed.ForEach(ctx, len(picks), 8, func(j int) {
		i := picks[j]
		rctx, cancel := context.WithTimeout(ctx, 4*info.Timeout)
		defer cancel()
		_, err := seed.Retry(rctx, func(ctx context.Context) (*tokenflow.Response, error) {
			return flows[i%len(flows)].Refresh(ctx, toks[i])
		})
		refused[j] = err != nil
	})
	n := 0
	for _, r := range refused {
		if r {
			n++
		}
	}
	return n
}
