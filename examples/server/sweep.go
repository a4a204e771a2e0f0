package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/invitekit/invitekit/store"
)

// sweeper is one service's Sweep and, for the log, the kind of invitation
// it sweeps.
type sweeper struct {
	kind  string
	sweep func(context.Context) (store.SweepResult, error)
}

// sweepers are the sweeps of both services.
func (svc services) sweepers() []sweeper {
	return []sweeper{
		{"invitation", svc.invitations.Sweep},
		{"guest_invitation", svc.guests.Sweep},
	}
}

// startSweep runs sweeps at once and then every interval until ctx is
// done. The channel is closed once the sweeps have stopped, so that the
// store is not closed under one; with interval 0 it is closed at once.
func startSweep(ctx context.Context, interval time.Duration, sweeps []sweeper, logger *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	if interval == 0 {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		sweepEvery(ctx, interval, sweeps, logger)
	}()
	return done
}

// sweepEvery drains every sweep now and at each tick. A failure waits for
// the next tick rather than ending the loop: a store that is briefly
// unavailable must not stop expiries from being recorded for good.
func sweepEvery(ctx context.Context, interval time.Duration, sweeps []sweeper, logger *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for _, s := range sweeps {
			drain(ctx, s, logger)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// drain calls s until it reports no more work, it fails, or ctx is done,
// and logs what it did. Each call is bounded by the service's batch, so a
// backlog (after a long stop, say) is worked off in many short
// transactions, not left for the next ticks.
func drain(ctx context.Context, s sweeper, logger *slog.Logger) {
	var total store.SweepResult
	for ctx.Err() == nil {
		res, err := sweepOnce(ctx, s)
		// A failed sweep may still have done part of its work.
		total.Expired += res.Expired
		total.Purged += res.Purged
		if err != nil {
			// A sweep cut short by shutdown is no failure.
			if ctx.Err() == nil {
				logger.Warn("sweep failed; trying again at the next tick", "kind", s.kind, "err", err)
			}
			break
		}
		if !res.More {
			break
		}
	}
	if total.Expired > 0 || total.Purged > 0 {
		logger.Info("swept invitations", "kind", s.kind, "expired", total.Expired, "purged", total.Purged)
	}
}

// sweepTimeout bounds one call of a Sweep, as requestTimeout bounds a
// request: the stores bound their waits for locks and statements by the
// context's deadline, so that a store that hangs fails this tick instead
// of stopping the sweep for good.
const sweepTimeout = 30 * time.Second

func sweepOnce(ctx context.Context, s sweeper) (store.SweepResult, error) {
	ctx, cancel := context.WithTimeout(ctx, sweepTimeout)
	defer cancel()
	return s.sweep(ctx)
}
