package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/tapsim/tapsim/isospec/rules"
)

// rulesFlags are --rules and --rules-poll of a host.
type rulesFlags struct {
	path string
	poll time.Duration
}

func addRulesFlags(fl *pflag.FlagSet, r *rulesFlags) {
	fl.StringVar(&r.path, "rules", "", "host response rules, YAML (see the README); reloaded when the file changes")
	fl.DurationVar(&r.poll, "rules-poll", time.Second, "how often the --rules file is checked for changes")
}

// load reads the rules file, if any, and watches it until the returned
// function is called. Their firings and reloads are logged on errOut
// whatever the log level, since a tester reads them. A file that does not
// parse is a usage error (exit 2) naming the line and field at fault.
func (r rulesFlags) load(errOut io.Writer) (*rules.Set, func(), error) {
	return r.loadTo(slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelInfo})))
}

// loadTo is load with the firings and reloads logged to logger.
func (r rulesFlags) loadTo(logger *slog.Logger) (*rules.Set, func(), error) {
	none := func() {}
	if r.path == "" {
		return nil, none, nil
	}
	if r.poll <= 0 {
		return nil, none, usageErr("--rules-poll %s: must be positive", r.poll)
	}
	set, err := rules.Load(r.path, rules.Options{Logger: logger})
	if err != nil {
		return nil, none, usageErr("--rules: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := time.NewTicker(r.poll)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); set.Watch(ctx, t.C, nil) }()
	return set, func() { cancel(); t.Stop(); wg.Wait() }, nil
}

// printRules says which rules are in force.
func (r rulesFlags) print(out io.Writer, set *rules.Set) {
	if set != nil {
		fmt.Fprintf(out, "  rules: %d from %s, checked for changes every %s\n", len(set.Rules().List), r.path, r.poll)
	}
}
