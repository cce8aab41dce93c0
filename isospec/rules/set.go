package rules

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
)

// Options configures a Set.
type Options struct {
	// TerminalTimeout is the terminals' answer timeout that after_timeout
	// waits past, unless the file sets terminal_timeout_ms (15 s when 0).
	TerminalTimeout time.Duration
	// Logger receives the firings and reloads; nil discards them.
	Logger *slog.Logger
	// Sleep waits d or until ctx ends; nil waits on a timer. Tests inject
	// their own to follow delays without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultTerminalTimeout is the terminals' default answer timeout.
const DefaultTerminalTimeout = 15 * time.Second

// Set holds the rules in force and how often each has fired. It is safe
// for concurrent use. The zero value is not usable; a nil *Set matches
// nothing.
type Set struct {
	opts Options
	log  *slog.Logger
	path string

	mu      sync.Mutex
	rules   *Rules
	fired   []int  // per rule of rules.List
	content []byte // the file content the rules came from
	once    []*Rule
}

// New returns a Set holding r (nil for none).
func New(r *Rules, opts Options) *Set {
	if opts.TerminalTimeout <= 0 {
		opts.TerminalTimeout = DefaultTerminalTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	s := &Set{opts: opts, log: opts.Logger}
	s.install(r, nil)
	return s
}

// Load reads the rules file at path into a new Set that Watch can reload.
// A file that cannot be read or parsed is an error (a *ParseError for its
// content).
func Load(path string, opts Options) (*Set, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	r, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	s := New(r, opts)
	s.path = path
	s.content = data
	s.log.Info("rules loaded", slog.String("file", path), slog.Int("rules", len(r.List)))
	return s, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("rules: read %s: %w", path, err)
	}
	return data, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Set) install(r *Rules, content []byte) {
	if r == nil {
		r = &Rules{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules, s.fired, s.content = r, make([]int, len(r.List)), content
}

// Rules returns the rules in force.
func (s *Set) Rules() *Rules {
	if s == nil {
		return &Rules{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rules
}

// UsesProfile reports whether a rule in force matches on the card
// profile, so that a host looks the profile up only when it matters.
func (s *Set) UsesProfile() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rules.List {
		if len(r.Match.Profile) > 0 {
			return true
		}
	}
	return false
}

// Match finds the first rule that matches req and has not used up its
// count, counts the firing, logs it ("rule NAME fired: ...", PAN masked)
// and returns what to do. ok is false when no rule fires.
func (s *Set) Match(req Request) (d Decision, ok bool) {
	if s == nil {
		return Decision{}, false
	}
	s.mu.Lock()
	var hit *Rule
	for i, r := range s.once {
		if r.Match.Matches(req) {
			s.once = append(s.once[:i:i], s.once[i+1:]...)
			hit = r
			break
		}
	}
	for i, r := range s.rules.List {
		if hit != nil {
			break
		}
		if r.Limit > 0 && s.fired[i] >= r.Limit {
			continue
		}
		if r.Match.Matches(req) {
			s.fired[i]++
			hit = r
			break
		}
	}
	tt := s.rules.TerminalTimeout
	s.mu.Unlock()
	if hit == nil {
		return Decision{}, false
	}
	if tt <= 0 {
		tt = s.opts.TerminalTimeout
	}
	d = hit.Action.decide(hit.Name, req, tt)
	s.log.Info("rule "+hit.Name+" fired: "+d.String(),
		slog.String("rule", hit.Name), slog.String("mti", string(req.MTI)), slog.String("pan", pan.Mask(req.PAN)),
		slog.Int64("amount", req.Amount), slog.String("tid", req.TID))
	return d, true
}

// Once puts r in front of the rules in force for one firing: the next
// request it matches gets its action, then it is gone. Rules put with Once
// fire in the order they were put, before any rule of the file, and stay
// across reloads until they fire. Cancel takes them back.
func (s *Set) Once(r *Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.once = append(s.once, r)
}

// Pending returns the rules put with Once that have not fired yet.
func (s *Set) Pending() []*Rule {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Rule(nil), s.once...)
}

// Cancel takes back the rules put with Once that have not fired yet.
func (s *Set) Cancel() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.once = nil
}

// Sleep waits d, or until ctx ends, with the Set's sleeper.
func (s *Set) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if s == nil {
		return sleep(ctx, d)
	}
	return s.opts.Sleep(ctx, d)
}

// Reload reads the file again and, when its content changed, installs the
// new rules (their counts start at zero). A file that cannot be read or
// parsed leaves the last good rules in force; the reason is logged and
// returned. changed reports whether new rules were installed.
func (s *Set) Reload() (changed bool, err error) {
	if s == nil || s.path == "" {
		return false, nil
	}
	data, err := readFile(s.path)
	if err == nil {
		s.mu.Lock()
		same := bytes.Equal(data, s.content)
		s.mu.Unlock()
		if same {
			return false, nil
		}
		var r *Rules
		if r, err = Parse(s.path, data); err == nil {
			s.install(r, data)
			s.log.Info("rules reloaded", slog.String("file", s.path), slog.Int("rules", len(r.List)))
			return true, nil
		}
		// Do not report the same bad content at every poll.
		s.mu.Lock()
		s.content = data
		s.mu.Unlock()
	}
	s.log.Warn("rules not reloaded, the last good rules stay in force", slog.String("file", s.path), slog.String("error", err.Error()))
	return false, err
}

// Watch reloads the file at every tick until ctx ends; ticks is typically
// a time.Ticker's channel (tests send their own ticks). onReload, when not
// nil, is called after each tick with Reload's results.
func (s *Set) Watch(ctx context.Context, ticks <-chan time.Time, onReload func(changed bool, err error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			changed, err := s.Reload()
			if onReload != nil {
				onReload(changed, err)
			}
		}
	}
}
