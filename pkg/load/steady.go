package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// MaxSteady bounds how long a steady load may run, whatever its caller
// forgets: a rolling restart of a few nodes takes minutes.
const MaxSteady = 20 * time.Minute

// Second is what the load saw in one second of a steady run.
type Second struct {
	// At is the second's offset from the start of the run.
	At time.Duration `json:"at"`
	// Sent, OK: requests whose answer came in this second, and of them the
	// ones answered HTTP 200.
	Sent int `json:"sent"`
	OK   int `json:"ok"`
	// Refused are answers 400 invalid_grant: the token refused, not the
	// server unavailable.
	Refused int `json:"refused"`
	// ServerErrors are answers 5xx, Transport requests with no HTTP answer
	// (connection refused or reset, timeout), Other any other answer.
	ServerErrors int `json:"serverErrors"`
	Transport    int `json:"transport"`
	Other        int `json:"other"`
	// P50 and Max are the second's latencies.
	P50 time.Duration `json:"p50"`
	Max time.Duration `json:"max"`
}

// Failed is the second's requests that did not get HTTP 200.
func (s Second) Failed() int { return s.Sent - s.OK }

// Event marks a moment of a steady run (a node stopped, started, ready).
type Event struct {
	At   time.Duration `json:"at"`
	What string        `json:"what"`
}

// Timeline is a steady run, second by second.
type Timeline struct {
	Grant string `json:"grant"`
	Rate  int    `json:"rate"`
	// Clients sent the requests, each one at a time.
	Clients int      `json:"clients"`
	Seconds []Second `json:"seconds"`
	Events  []Event  `json:"events"`
	// Answers counts the refusals and errors by what the server said
	// (status and OAuth error, never a token).
	Answers map[string]int `json:"answers"`
}

// Totals sums the seconds.
func (t Timeline) Totals() Second {
	var s Second
	for _, x := range t.Seconds {
		s.Sent += x.Sent
		s.OK += x.OK
		s.Refused += x.Refused
		s.ServerErrors += x.ServerErrors
		s.Transport += x.Transport
		s.Other += x.Other
		s.Max = max(s.Max, x.Max)
	}
	return s
}

// FailedSeconds is how many seconds had a request that did not get HTTP 200.
func (t Timeline) FailedSeconds() int {
	n := 0
	for _, x := range t.Seconds {
		if x.Failed() > 0 {
			n++
		}
	}
	return n
}

// Summary is the run in one line.
func (t Timeline) Summary() string {
	s := t.Totals()
	var answers []string
	for a, n := range t.Answers {
		answers = append(answers, fmt.Sprintf("%d× %s", n, a))
	}
	sort.Strings(answers)
	line := fmt.Sprintf("%d requests at %d/s from %d client(s) over %s: %d HTTP 200, %d refused (invalid_grant), %d server errors (5xx), %d transport errors, %d other; %d second(s) with a failure; max latency %s",
		s.Sent, t.Rate, t.Clients, (time.Duration(len(t.Seconds)) * time.Second), s.OK, s.Refused, s.ServerErrors, s.Transport, s.Other, t.FailedSeconds(), s.Max.Round(time.Millisecond))
	if len(answers) > 0 {
		line += "; answers: " + strings.Join(answers, ", ")
	}
	return line
}

// Steady is a load held at one rate until stopped.
type Steady struct {
	start     time.Time
	rate      int
	grant     string
	attackers []*vegeta.Attacker
	done      sync.WaitGroup

	mu      sync.Mutex
	seconds map[int]*bucket
	events  []Event
	answers map[string]int
}

type bucket struct {
	Second
	lat []time.Duration
}

// StartSteady sends the grant for each client at rate per second in all,
// in the background, until Stop (or MaxSteady, or ctx's end). Each client
// sends one request at a time, as a service holding its own stored token
// does: it waits for an answer before its next request, and catches up
// after a slow one. Unlike Run it takes any URL: a gateway in front of
// loopback nodes is on loopback too, and the rate is the caller's.
func StartSteady(ctx context.Context, clients []Target, grant string, rate int) (*Steady, error) {
	if rate <= 0 || rate > 200 {
		return nil, fmt.Errorf("steady rate %d: expected 1 to 200 per second", rate)
	}
	if len(clients) == 0 || len(clients) > rate {
		return nil, fmt.Errorf("%d clients: expected 1 to the rate (%d)", len(clients), rate)
	}
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	var targeters []vegeta.Targeter
	for _, t := range clients {
		if _, err := url.Parse(t.TokenURL); err != nil {
			return nil, err
		}
		body, err := form(t, grant)
		if err != nil {
			return nil, err
		}
		targeters = append(targeters, vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodPost, URL: t.TokenURL, Body: body, Header: header}))
	}
	s := &Steady{start: time.Now(), rate: rate, grant: grant, seconds: map[int]*bucket{}, answers: map[string]int{}}
	// Each client's interval; the clients start spread over one of them.
	every := time.Duration(len(clients)) * time.Second / time.Duration(rate)
	for i, tr := range targeters {
		// No keep-alive: each request is routed anew, as clients that come
		// and go are; a kept connection would pin a client to one node.
		a := vegeta.NewAttacker(vegeta.Timeout(30*time.Second), vegeta.KeepAlive(false), vegeta.Redirects(0), vegeta.Workers(1), vegeta.MaxWorkers(1))
		s.attackers = append(s.attackers, a)
		s.done.Add(1)
		go func() {
			defer s.done.Done()
			select {
			case <-time.After(every * time.Duration(i) / time.Duration(len(targeters))):
			case <-ctx.Done():
				return
			}
			for r := range a.Attack(tr, vegeta.Rate{Freq: 1, Per: every}, MaxSteady, grant) {
				s.add(r)
				if ctx.Err() != nil {
					a.Stop()
				}
			}
		}()
	}
	return s, nil
}

// Mark records an event at this moment.
func (s *Steady) Mark(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, Event{At: time.Since(s.start), What: what})
}

// add files a result under the second its answer came in, keeping only
// the status and OAuth error of a failure (the body of a success holds
// tokens, and is dropped).
func (s *Steady) add(r *vegeta.Result) {
	body := r.Body
	r.Body = nil
	sec := int(r.Timestamp.Add(r.Latency).Sub(s.start) / time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.seconds[sec]
	if b == nil {
		b = &bucket{Second: Second{At: time.Duration(sec) * time.Second}}
		s.seconds[sec] = b
	}
	b.Sent++
	b.lat = append(b.lat, r.Latency)
	switch {
	case r.Code == http.StatusOK:
		b.OK++
		return
	case r.Code == 0:
		b.Transport++
		s.answers["no HTTP answer: "+transportCause(r.Error)]++
		return
	}
	answer := fmt.Sprintf("HTTP %d %s", r.Code, oauthError(body))
	s.answers[strings.TrimSpace(answer)]++
	switch {
	case r.Code >= 500:
		b.ServerErrors++
	case r.Code == http.StatusBadRequest && strings.HasPrefix(oauthError(body), "invalid_grant"):
		b.Refused++
	default:
		b.Other++
	}
}

// oauthError is an error answer's error and error_description, never
// anything else it holds.
func oauthError(body []byte) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return ""
	}
	if e.Description == "" {
		return e.Error
	}
	return e.Error + " (" + e.Description + ")"
}

// transportCause shortens a transport error to its cause, without the URL.
func transportCause(err string) string {
	if i := strings.LastIndex(err, ": "); i >= 0 {
		return err[i+2:]
	}
	return err
}

// Stop stops the load, waits for the answers still coming, and returns the
// timeline.
func (s *Steady) Stop() Timeline {
	for _, a := range s.attackers {
		a.Stop()
	}
	s.done.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := Timeline{Grant: s.grant, Rate: s.rate, Clients: len(s.attackers), Events: s.events, Answers: s.answers}
	last := -1
	for sec := range s.seconds {
		last = max(last, sec)
	}
	for sec := 0; sec <= last; sec++ {
		b := s.seconds[sec]
		if b == nil {
			t.Seconds = append(t.Seconds, Second{At: time.Duration(sec) * time.Second})
			continue
		}
		sort.Slice(b.lat, func(i, j int) bool { return b.lat[i] < b.lat[j] })
		b.P50 = b.lat[len(b.lat)/2]
		b.Max = b.lat[len(b.lat)-1]
		t.Seconds = append(t.Seconds, b.Second)
	}
	return t
}

// form is the grant's request body.
func form(t Target, grant string) ([]byte, error) {
	f := url.Values{"client_id": {t.ClientID}, "client_secret": {t.ClientSecret}}
	switch grant {
	case ClientCredentials:
		f.Set("grant_type", "client_credentials")
		f.Set("scope", "offline_access")
	case Refresh:
		f.Set("grant_type", "refresh_token")
		f.Set("refresh_token", t.RefreshToken)
	default:
		return nil, fmt.Errorf("unknown grant %q", grant)
	}
	return []byte(f.Encode()), nil
}
