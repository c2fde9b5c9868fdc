package beam

import (
	"fmt"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"

	"github.com/leadkit/leadkit"
)

// globalWindow puts col in the global window before a transform groups
// it: the analytics are of a whole history, so an input its source
// stamped with times and windowed (daily windows, say) would otherwise
// be grouped per window, one lead's timeline split in two.
func globalWindow(s beam.Scope, col beam.PCollection) beam.PCollection {
	return beam.WindowInto(s, window.NewGlobalWindows(), col)
}

// checkTenant checks a tenant ID as every transform does: non-empty text
// of at most leadkit.MaxIDBytes without NUL bytes (a NUL would split the
// keys the transforms join tenants and shards with).
func checkTenant(what, tenant string) error {
	if msg := leadkit.CheckText(tenant, leadkit.MaxIDBytes); msg != "" || strings.TrimSpace(tenant) == "" {
		if msg == "" {
			msg = "is empty"
		}
		return fmt.Errorf("beam: %s: %w: tenant %s", what, leadkit.ErrInvalid, msg)
	}
	return nil
}
