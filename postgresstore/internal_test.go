package postgresstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
)

func pgError(code string) error {
	return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "m"})
}

// TestDriverClassifiesErrors checks the SQLSTATEs the core's retry loop and
// error translation rely on.
func TestDriverClassifiesErrors(t *testing.T) {
	t.Parallel()
	var d driver
	for _, tc := range []struct {
		name              string
		err               error
		unique, retryable bool
	}{
		{"unique violation", pgError(codeUniqueViolation), true, false},
		{"deadlock", pgError(codeDeadlockDetected), false, true},
		{"serialization failure", pgError(codeSerializationFailure), false, true},
		{"undefined table", pgError("42P01"), false, false},
		{"context", context.Canceled, false, false},
		{"other", errors.New("connection reset"), false, false},
	} {
		assert.Equal(t, tc.unique, d.Unique(tc.err), "%s: unique", tc.name)
		assert.Equal(t, tc.retryable, d.Retryable(tc.err), "%s: retryable", tc.name)
	}
}
