package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMountedUnderPrefix(t *testing.T) {
	t.Parallel()
	mux, err := newMux(slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the application's own routes still work")

	url := srv.URL + "/invites/v1/organizations/" + uuid.NewString() + "/invitations"
	req, err := http.NewRequest("POST", url, strings.NewReader(`{"email":"ada@example.com","role":"admin"}`))
	require.NoError(t, err)
	req.SetBasicAuth("demo", "demo-secret")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Status int `json:"status"`
		Result struct {
			Email string `json:"email"`
		} `json:"result"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ada@example.com", body.Result.Email)

	resp, err = http.Get(srv.URL + "/v1/organizations/" + uuid.NewString() + "/invitations")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "nothing is served outside the prefix")
}
