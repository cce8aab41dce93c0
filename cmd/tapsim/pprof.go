package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/spf13/pflag"
)

// addPprofFlag adds --pprof, the loopback address of the profiling
// endpoints.
func addPprofFlag(fl *pflag.FlagSet, addr *string) {
	fl.StringVar(addr, "pprof", "", "serve Go profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060")
}

// checkPprofAddr refuses a --pprof address that is not host:port on a
// loopback interface: profiles show the process's inner workings and must
// not be reachable from elsewhere.
func checkPprofAddr(addr string) error {
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !isPort(port) {
		return usageErr("--pprof %q: want host:port on loopback (127.0.0.1:6060)", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return usageErr("--pprof %q: profiles are served on loopback only (127.0.0.1, ::1 or localhost)", addr)
	}
	return nil
}

// startPprof serves the profiling endpoints on addr (already checked)
// until ctx ends or the returned stop is called; an empty addr serves
// nothing. It says where on errOut.
func startPprof(ctx context.Context, addr string, errOut io.Writer) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &exitError{code: 1, err: fmt.Errorf("--pprof %s: cannot listen: %w", addr, err)}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(errOut, "pprof: %v\n", err)
		}
	}()
	fmt.Fprintf(errOut, "profiles on http://%s/debug/pprof/\n", ln.Addr())
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		_ = srv.Close()
	}()
	var once bool
	return func() {
		if !once {
			once = true
			close(stopped)
			<-done
		}
	}, nil
}
