package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConnLimitWaitsForABusyConnectionToIdle: at the cap with every
// connection busy, a new client waits; once one of them finishes its
// request and idles, it makes room at once, not after the idle timeout.
func TestConnLimitWaitsForABusyConnectionToIdle(t *testing.T) {
	t.Parallel()
	const max = 2
	started, release := make(chan struct{}, max), make(chan struct{})
	limit := newConnLimit(max)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/busy" {
				started <- struct{}{}
				<-release
			}
		}),
		ConnState:   limit.track,
		IdleTimeout: time.Hour,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(limit.listener(ln)) }()
	t.Cleanup(func() { srv.Close() })

	responded := make(chan error, max)
	for range max {
		conn, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		go func() {
			// The connection stays open, idle, after its response.
			_, err := io.WriteString(conn, "GET /busy HTTP/1.1\r\nHost: x\r\n\r\n")
			if err == nil {
				var resp *http.Response
				if resp, err = http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
					resp.Body.Close()
				}
			}
			responded <- err
		}()
		<-started
	}

	served := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
		served <- err
	}()
	select {
	case err := <-served:
		t.Fatalf("a client was served beyond the cap while every connection was busy (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	for range max {
		require.NoError(t, <-responded)
	}
	assert.NoError(t, <-served, "an idle connection made room, long before the hour-long idle timeout")
}
