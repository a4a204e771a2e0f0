package httpadapter

import (
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// LogRequests wraps next so that every request is logged to logger when
// it completes, with its method, path, status, response size, duration and
// request ID (the X-Request-Id the Handler sets). Server errors (5xx) are
// logged at level Error, the rest at Info. Wrap the outermost handler, so
// the path logged is the one the client asked for, before any
// http.StripPrefix.
//
// The status logged is the one the client got: when the response could not
// be sent (the server's WriteTimeout had passed, or the client had gone),
// the line says status 0, with the status the handler wrote as
// status_written and the write's error, at level Error. Responses of a
// known length (every response of the Handler) are flushed before the line
// is logged so that this is known; others are flushed by the server after
// the line.
func LogRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		if sw.err == nil && w.Header().Get("Content-Length") != "" {
			// The length is set, so flushing changes nothing on the
			// wire; it tells whether the bytes went out.
			if err := http.NewResponseController(w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				sw.err = err
			}
		}
		status := sw.status
		level := slog.LevelInfo
		if status >= 500 || sw.err != nil {
			level = slog.LevelError
		}
		attrs := make([]slog.Attr, 0, 8)
		if sw.err != nil {
			status = 0
			attrs = append(attrs, slog.Int("status_written", sw.status), slog.String("error", sw.err.Error()))
		}
		attrs = append(attrs,
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", w.Header().Get(RequestIDHeader)),
		)
		logger.LogAttrs(r.Context(), level, "http request", attrs...)
	})
}

// statusWriter records the status and size of a response, and the first
// error writing it.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	err    error
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
