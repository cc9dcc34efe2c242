package runtime

import (
	"context"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime/initproc"
)

// runHooksWarn runs hooks whose failure must not fail the operation: it logs and goes on with the
// remaining hooks ("the runtime MUST log a warning, but the remaining hooks ... MUST still run").
func (r *Runtime) runHooksWarn(ctx context.Context, kind string, hooks []specs.Hook, st specs.State) {
	for i := range hooks {
		if err := initproc.RunHooks(ctx, r.step, kind, hooks[i:i+1], st); err != nil {
			r.Log.Warn(err.Error())
		}
	}
}
