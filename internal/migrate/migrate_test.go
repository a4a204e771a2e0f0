package migrate

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"m/0002_second.sql": {Data: []byte("B")},
		"m/0001_first.sql":  {Data: []byte("A")},
		"m/README.md":       {Data: []byte("ignored")},
	}
	ms, err := Load(fsys, "m")
	require.NoError(t, err)
	assert.Equal(t, []Migration{{1, "0001_first.sql", "A"}, {2, "0002_second.sql", "B"}}, ms)
	assert.Equal(t, 2, Latest(ms))
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	cases := map[string]fstest.MapFS{
		"gap":      {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"repeat":   {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
		"no one":   {"m/0002_b.sql": {}},
		"bad name": {"m/1_a.sql": {}},
		"empty":    {"m/x.txt": {}},
	}
	for name, fsys := range cases {
		_, err := Load(fsys, "m")
		assert.Error(t, err, name)
	}
	_, err := Load(fstest.MapFS{}, "missing")
	assert.Error(t, err)
}
