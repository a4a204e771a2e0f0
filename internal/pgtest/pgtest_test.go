package pgtest

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReportNamesThePackageAndTheVariable(t *testing.T) {
	var stderr, tty bytes.Buffer
	report("postgresstore", 3, &stderr, &tty)
	assert.Equal(t, "postgresstore: 3 PostgreSQL tests skipped: "+Hint+"\n", stderr.String())
	assert.Equal(t, stderr.String(), tty.String(), "the terminal gets the same line")

	stderr.Reset()
	report("postgresstore", 1, &stderr, nil)
	assert.Contains(t, stderr.String(), Env, "without a terminal, stderr still says it")
}

func TestURLSkipsAndCountsWithoutTheVariable(t *testing.T) {
	t.Setenv(Env, "")
	before := Skipped()
	ok := t.Run("postgres", func(t *testing.T) {
		URL(t)
		t.Error("URL returned without the variable")
	})
	assert.True(t, ok, "a skip is not a failure")
	assert.Equal(t, before+1, Skipped())

	t.Setenv(Env, "postgres://example/db")
	t.Run("set", func(t *testing.T) { assert.Equal(t, "postgres://example/db", URL(t)) })
	assert.Equal(t, before+1, Skipped(), "a run with the variable is not counted")
}
