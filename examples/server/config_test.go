package main

import (
	"encoding/base64"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invitekit/invitekit/httpadapter"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	r, tg := uuid.New(), uuid.New()
	c, err := parseConfig([]string{
		"-addr", "127.0.0.1:9999", "-db", "x.db", "-api-key", "k2:s2@" + r.String() + "@" + tg.String(), "-connection", r.String() + ":" + tg.String(),
	}, env(map[string]string{"INVITEKIT_API_KEYS": "k1:s1@" + r.String() + ", k3:s:3@*", "INVITEKIT_TOKEN_KEY": "abc"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9999", c.addr)
	assert.Equal(t, "x.db", c.db)
	assert.Equal(t, map[string]string{"k1": "s1", "k2": "s2", "k3": "s:3"}, c.apiKeys.secrets(), "a secret may contain ':'")
	assert.Equal(t, map[uuid.UUID]bool{r: true}, c.apiKeys["k1"].orgs)
	assert.Equal(t, map[uuid.UUID]bool{r: true, tg: true}, c.apiKeys["k2"].orgs)
	assert.True(t, c.apiKeys["k3"].all)
	assert.True(t, c.connections[[2]uuid.UUID{r, tg}])
	assert.False(t, c.connections[[2]uuid.UUID{tg, r}], "a connection has a direction")
	assert.Equal(t, "abc", c.tokenKey)

	d, err := parseConfig(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, ":8080", d.addr)
	assert.Equal(t, "invitekit.db", d.db)
	assert.Empty(t, d.apiKeys)
}

func TestParseConfigRejects(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"key without secret": {"-api-key", "lonely"},
		"duplicate key":      {"-api-key", "a:1@*", "-api-key", "a:2@*"},
		"bad connection":     {"-connection", "not-a-uuid:x"},
		"stray argument":     {"extra"},
		"unknown flag":       {"-nope"},
	} {
		_, err := parseConfig(args, env(nil), io.Discard)
		assert.Error(t, err, name)
	}
}

func TestTokenKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "db.key")

	key, created, err := tokenKey("", file)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Len(t, key, 32)
	st, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	again, created, err := tokenKey("", file)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, key, again, "the key survives a restart, and so do the links signed with it")

	require.NoError(t, os.Chmod(file, 0o644))
	_, _, err = tokenKey("", file)
	assert.ErrorContains(t, err, "readable by others")

	fromEnv := strings.Repeat("k", 40)
	key, _, err = tokenKey(base64.StdEncoding.EncodeToString([]byte(fromEnv)), file)
	require.NoError(t, err)
	assert.Equal(t, []byte(fromEnv), key, "the environment wins over the file")
	_, _, err = tokenKey(base64.StdEncoding.EncodeToString([]byte("short")), "")
	assert.ErrorContains(t, err, "at least 32")
	_, _, err = tokenKey("%%%", "")
	assert.Error(t, err)

	mem, _, err := tokenKey("", "")
	require.NoError(t, err)
	assert.Len(t, mem, 32)
}

// TestRotateTokenKeyWithoutFile: the flag's warning names the reason it
// does nothing, which is not always an existing key file.
func TestRotateTokenKeyWithoutFile(t *testing.T) {
	t.Parallel()
	var log strings.Builder
	logger := slog.New(slog.NewTextHandler(&log, nil))
	cfg := config{db: ":memory:", rotateTokenKey: true}
	_, err := loadTokenKey(t.Context(), cfg, "", logger)
	require.NoError(t, err)
	assert.Contains(t, log.String(), "the token key is not kept in a file")
	assert.NotContains(t, log.String(), "file exists")
}

func TestParseConfigWebhooks(t *testing.T) {
	t.Parallel()
	secret := webhook.GenerateSecret()
	c, err := parseConfig([]string{"-webhook", "http://a.example/h", "-webhook", "http://b.example/h", "-webhook-timeout", "2s"},
		env(map[string]string{"INVITEKIT_WEBHOOK_SECRET": secret}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"http://a.example/h", "http://b.example/h"}, c.webhooks)
	assert.Equal(t, 2*time.Second, c.webhookTimeout)
	assert.False(t, c.webhookSecret.IsZero())

	for name, tc := range map[string]struct {
		args   []string
		secret string
		want   string
	}{
		"webhook without secret": {[]string{"-webhook", "http://a.example/h"}, "", "INVITEKIT_WEBHOOK_SECRET"},
		"secret without prefix":  {[]string{"-webhook", "http://a.example/h"}, "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "INVITEKIT_WEBHOOK_SECRET"},
		"short secret":           {[]string{"-webhook", "http://a.example/h"}, "whsec_c2hvcnQ=", "INVITEKIT_WEBHOOK_SECRET"},
		"timeout too short":      {[]string{"-webhook-timeout", "1ms"}, secret, "-webhook-timeout"},
	} {
		_, err := parseConfig(tc.args, env(map[string]string{"INVITEKIT_WEBHOOK_SECRET": tc.secret}), io.Discard)
		assert.ErrorContains(t, err, tc.want, name)
	}
}

func TestParseConfigMail(t *testing.T) {
	t.Parallel()
	c, err := parseConfig([]string{"-smtp", "smtp://u:p@127.0.0.1:2525", "-mail-from", "Acme <invites@acme.example>",
		"-accept-url", "https://app.example/join"}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "smtp://u:p@127.0.0.1:2525", c.smtp)
	assert.Equal(t, "Acme <invites@acme.example>", c.mailFrom)
	assert.Equal(t, "https://app.example/join", c.acceptURL)

	c, err = parseConfig(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Empty(t, c.smtp+c.mailFrom+c.acceptURL, "no mail unless asked for")

	mailFlags := []string{"-smtp", "smtp://127.0.0.1:2525", "-mail-from", "a@b.example"}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"smtp without from":     {[]string{"-smtp", "smtp://127.0.0.1:2525"}, "-smtp needs -mail-from"},
		"from without smtp":     {[]string{"-mail-from", "a@b.example"}, "-mail-from needs -smtp"},
		"accept URL alone":      {[]string{"-accept-url", "https://app.example/join"}, "-accept-url is where emails link to: it needs -smtp"},
		"relative accept URL":   {append(mailFlags, "-accept-url", "/accept"), "-accept-url"},
		"accept URL not http":   {append(mailFlags, "-accept-url", "ftp://a.example/accept"), "-accept-url"},
		"unparsable accept URL": {append(mailFlags, "-accept-url", "http://a b/%zz"), "-accept-url"},
	} {
		_, err := parseConfig(tc.args, env(nil), io.Discard)
		assert.ErrorContains(t, err, tc.want, name)
	}
}

func TestParseAPIKeys(t *testing.T) {
	t.Parallel()
	o1, o2 := uuid.New(), uuid.New()
	keys, err := parseAPIKeys(" a:s1@"+o1.String()+"@"+o2.String()+",\n b:s:2@* ", []string{"c:s3@" + o2.String()})
	require.NoError(t, err)
	assert.Equal(t, apiKeys{
		"a": {id: "a", secret: "s1", orgs: map[uuid.UUID]bool{o1: true, o2: true}},
		"b": {id: "b", secret: "s:2", orgs: map[uuid.UUID]bool{}, all: true},
		"c": {id: "c", secret: "s3", orgs: map[uuid.UUID]bool{o2: true}},
	}, keys, "blanks around entries are ignored; a secret may hold ':'")

	org := "@" + o1.String()
	for name, tc := range map[string]struct {
		env   string
		flags []string
		want  string
	}{
		"missing comma":        {"a:b c:d", nil, "INVITEKIT_API_KEYS entry 1: blank or control character inside"},
		"missing comma, orgs":  {"a:b@* c:d@*", nil, "entry 1: blank"},
		"tab inside":           {"x:y@*,a:b\tc" + org, nil, "entry 2: blank"},
		"no secret":            {"a:" + org, nil, "entry 1: no secret"},
		"no colon":             {"lonely" + org, nil, "entry 1: no key ID"},
		"no ID":                {":s" + org, nil, "entry 1: no key ID"},
		"no organization":      {"a:s", nil, `key "a" names no organization`},
		"empty organization":   {"a:s@", nil, "organization 1 is empty"},
		"empty between":        {"a:s" + org + "@", nil, "organization 2 is empty"},
		"not a UUID":           {"a:s@acme", nil, "organization 1 is not a UUID"},
		"UUID in braces":       {"a:s@{" + o1.String() + "}", nil, "not a UUID"},
		"secret with @":        {"a:p@ss" + org, nil, "not a UUID"},
		"star with others":     {"a:s@*" + org, nil, "@* stands alone"},
		"organization twice":   {"a:s" + org + org, nil, "organization 2 is given twice"},
		"duplicate ID":         {"a:s1@*,a:s2@*", nil, `entry 2: API key ID "a" is given twice`},
		"duplicate across":     {"a:s1@*", []string{"a:s2@*"}, `-api-key 1: API key ID "a" is given twice`},
		"shared secret":        {"a:s1@" + o1.String() + ",b:s1@" + o2.String(), nil, `entry 2: key "b" has the secret of key "a"`},
		"empty entry":          {"a:s@*,,b:t@*", nil, "entry 2: empty entry"},
		"trailing comma":       {"a:s@*,", nil, "entry 2: empty entry"},
		"flag with comma":      {"", []string{"a:s@*,b:t@*"}, "-api-key 1: a comma"},
		"flag without org":     {"", []string{"x:y@*", "a:s"}, `-api-key 2: key "a" names no organization`},
		"flag with blank only": {"", []string{" "}, "-api-key 1: empty entry"},
	} {
		_, err := parseAPIKeys(tc.env, tc.flags)
		if assert.ErrorContains(t, err, tc.want, name) {
			for _, secret := range []string{"b c:d", "c:d", "p@ss", "b\tc", "s1", "s2"} {
				assert.NotContains(t, err.Error(), secret, "%s: the error never quotes a secret", name)
			}
		}
	}
}

func TestAPIKeyScope(t *testing.T) {
	t.Parallel()
	mine, other := uuid.New(), uuid.New()
	keys, err := parseAPIKeys("scoped:s@"+mine.String()+",all:t@*", nil)
	require.NoError(t, err)
	ctx := t.Context()
	assert.NoError(t, keys.authorize(ctx, httpadapter.Principal{ID: "scoped"}, mine))
	assert.ErrorIs(t, keys.authorize(ctx, httpadapter.Principal{ID: "scoped"}, other), httpadapter.ErrForbidden)
	assert.NoError(t, keys.authorize(ctx, httpadapter.Principal{ID: "all"}, other))
	assert.ErrorIs(t, keys.authorize(ctx, httpadapter.Principal{ID: "unknown"}, mine), httpadapter.ErrForbidden)
}

func TestParseConfigHelp(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	_, err := parseConfig([]string{"-h"}, env(nil), &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, name := range []string{"-addr", "-api-key", "-max-conns", "-auth-failures", "-rotate-token-key",
		"-sweep-interval", "-retention", "-max-open", "-creates-per-hour",
		"INVITEKIT_API_KEYS", "INVITEKIT_TOKEN_KEY", "INVITEKIT_WEBHOOK_SECRET"} {
		assert.Contains(t, out.String(), name)
	}

	out.Reset()
	_, err = parseConfig([]string{"-nope"}, env(nil), &out)
	require.Error(t, err)
	assert.NotErrorIs(t, err, flag.ErrHelp)
	assert.Empty(t, out.String(), "a mistake is an error, not a page of usage")
}

func TestParseConfigLimits(t *testing.T) {
	t.Parallel()
	c, err := parseConfig(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 1000, c.maxConns)
	assert.Equal(t, time.Minute, c.idleTimeout)
	assert.Equal(t, 5*time.Second, c.readHeaderTimeout)
	assert.Equal(t, 10, c.failures)
	assert.False(t, c.trustProxy, "X-Forwarded-For is not trusted unless asked")
	for _, args := range [][]string{{"-max-conns", "0"}, {"-idle-timeout", "0s"}, {"-read-header-timeout", "-1s"}, {"-auth-failures", "0"}} {
		_, err := parseConfig(args, env(nil), io.Discard)
		assert.Error(t, err, "%v", args)
	}
}

func TestParseConfigLifecycle(t *testing.T) {
	t.Parallel()
	d, err := parseConfig(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, time.Minute, d.sweepInterval, "the server sweeps every minute unless told otherwise")
	assert.Zero(t, d.retention, "every invitation is kept unless asked")
	assert.Equal(t, store.Limits{MaxOpen: store.DefaultMaxOpen, CreatesPerHour: store.DefaultCreatesPerHour}, d.limits,
		"the library's defaults")

	for name, tc := range map[string]struct {
		args      []string
		interval  time.Duration
		retention time.Duration
		limits    store.Limits
	}{
		"all set": {[]string{"-sweep-interval", "5m", "-retention", "720h", "-max-open", "50", "-creates-per-hour", "20"},
			5 * time.Minute, 720 * time.Hour, store.Limits{MaxOpen: 50, CreatesPerHour: 20}},
		"no sweep":          {[]string{"-sweep-interval", "0"}, 0, 0, store.Limits{MaxOpen: store.DefaultMaxOpen, CreatesPerHour: store.DefaultCreatesPerHour}},
		"shortest interval": {[]string{"-sweep-interval", "100ms"}, 100 * time.Millisecond, 0, store.Limits{MaxOpen: store.DefaultMaxOpen, CreatesPerHour: store.DefaultCreatesPerHour}},
		"no limits":         {[]string{"-max-open", "0", "-creates-per-hour", "0"}, time.Minute, 0, store.Limits{}},
		"one limit":         {[]string{"-creates-per-hour", "0"}, time.Minute, 0, store.Limits{MaxOpen: store.DefaultMaxOpen}},
	} {
		c, err := parseConfig(tc.args, env(nil), io.Discard)
		if assert.NoError(t, err, name) {
			assert.Equal(t, tc.interval, c.sweepInterval, name)
			assert.Equal(t, tc.retention, c.retention, name)
			assert.Equal(t, tc.limits, c.limits, name)
		}
	}

	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"negative interval":         {[]string{"-sweep-interval", "-1m"}, "-sweep-interval -1m0s: want 0 (no sweep) or at least 100ms"},
		"interval too short":        {[]string{"-sweep-interval", "1ns"}, "-sweep-interval 1ns"},
		"negative retention":        {[]string{"-retention", "-1h"}, "-retention -1h0m0s"},
		"retention without sweep":   {[]string{"-retention", "24h", "-sweep-interval", "0"}, "-retention needs the sweep"},
		"negative max-open":         {[]string{"-max-open", "-1"}, "-max-open -1: want 0 (no limit) or more"},
		"negative creates-per-hour": {[]string{"-creates-per-hour", "-5"}, "-creates-per-hour -5: want 0 (no limit) or more"},
		"max-open not a number":     {[]string{"-max-open", "many"}, "-max-open"},
		"retention without unit":    {[]string{"-retention", "30"}, "-retention"},
	} {
		_, err := parseConfig(tc.args, env(nil), io.Discard)
		assert.ErrorContains(t, err, tc.want, name)
	}
}
