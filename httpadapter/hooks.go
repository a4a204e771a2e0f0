package httpadapter

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/invitekit/invitekit/link"
)

// acceptHooks turns the Config accept hook named name into the hooks a
// service's accept takes (invitation.AcceptHook, guest.AcceptHook): none
// when it is not set. The hook gets the request's principal and runs as
// runHook runs it.
func acceptHooks[H ~func(context.Context, T) error, T any](x *exchange, name string, hook func(context.Context, Principal, T) error) []H {
	if hook == nil {
		return nil
	}
	return []H{func(ctx context.Context, v T) error {
		return x.runHook(ctx, name, func() error { return hook(ctx, x.principal, v) })
	}}
}

// redeemHooks turns Config.RedeemLink into the hooks link.Service.Redeem
// takes, as acceptHooks does the accept hooks.
func redeemHooks(x *exchange, hook func(context.Context, Principal, link.Link, link.Redemption) error) []link.RedeemHook {
	if hook == nil {
		return nil
	}
	return []link.RedeemHook{func(ctx context.Context, l link.Link, r link.Redemption) error {
		return x.runHook(ctx, "RedeemLink", func() error { return hook(ctx, x.principal, l, r) })
	}}
}

// runHook calls the Config hook named name. Its error is wrapped with its
// name, for the log, keeping what errors.As and errors.Is find for the
// error table. A panic in it is recovered here, inside the store's
// transaction, so the store rolls back as for any failing hook before the
// Handler answers 500; the panic and its stack are logged.
func (x *exchange) runHook(ctx context.Context, name string, call func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			x.h.log.ErrorContext(ctx, "httpadapter: panic in accept hook",
				slog.String("request_id", x.id), slog.String("hook", name),
				slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("httpadapter: Config.%s panicked: %v", name, p)
		}
	}()
	if err := call(); err != nil {
		return fmt.Errorf("httpadapter: Config.%s: %w", name, err)
	}
	return nil
}
