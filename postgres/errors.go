package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadkit/leadkit"
)

// dbErr classifies an error of the database: a deadlock or a
// serialization failure wraps leadkit.ErrConflict, a server that cannot be
// reached, refuses connections (too many, out of resources) or a lost
// connection wraps leadkit.ErrUnavailable (both say:
// the call may be retried); other errors, and nil, are returned as they
// are.
func dbErr(err error) error {
	if err == nil || errors.Is(err, leadkit.ErrConflict) || errors.Is(err, leadkit.ErrUnavailable) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "40P01" || pe.Code == "40001":
			return fmt.Errorf("%w: %w", leadkit.ErrConflict, err)
		case strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03":
			return fmt.Errorf("%w: %w", leadkit.ErrUnavailable, err)
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", leadkit.ErrUnavailable, err)
	}
	return err
}
