//go:build !hulllean

package main

import (
	"context"
	"fmt"
	"net/netip"
	"text/tabwriter"

	"github.com/hullrt/hull/netns"
)

// cmdNetwork is hull's own verb (runc has none): hull network create|ls|inspect|rm.
func cmdNetwork(ctx context.Context, e *env, args []string) (int, error) {
	if len(args) == 0 {
		return 0, usageError{"network: usage: hull network create [--subnet CIDR] NAME | ls [--format json] | inspect NAME | rm NAME"}
	}
	store, err := e.rt.Networks()
	if err != nil {
		return 0, err
	}
	defer store.Close()
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		fs := flags(e, "network create")
		subnet := fs.String("subnet", "", "IPv4 subnet, e.g. 10.89.0.0/24 (default: a free /24 of 10.88.0.0/16)")
		if err := parse(fs, rest, 1, 1, "[--subnet CIDR] NAME"); err != nil {
			return 0, err
		}
		var p netip.Prefix
		if *subnet != "" {
			if p, err = netip.ParsePrefix(*subnet); err != nil {
				return 0, fmt.Errorf("--subnet %q: %w", *subnet, err)
			}
		}
		n, err := store.Create(ctx, fs.Arg(0), p)
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(e.stdout, "%s %s %s\n", n.Name, n.Bridge, n.Subnet)
		return 0, nil
	case "ls", "list":
		fs := flags(e, "network ls")
		format := fs.String("format", "table", "table or json")
		if err := parse(fs, rest, 0, 0, "[--format table|json]"); err != nil {
			return 0, err
		}
		ns, err := store.List()
		if err != nil {
			return 0, err
		}
		if *format == "json" {
			return 0, printJSON(e.stdout, ns)
		}
		w := tabwriter.NewWriter(e.stdout, 8, 1, 3, ' ', 0)
		fmt.Fprintln(w, "NAME\tBRIDGE\tSUBNET\tGATEWAY")
		for _, n := range ns {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", n.Name, n.Bridge, n.Subnet, n.Gateway)
		}
		return 0, w.Flush()
	case "inspect":
		fs := flags(e, "network inspect")
		if err := parse(fs, rest, 1, 1, "NAME"); err != nil {
			return 0, err
		}
		ns, err := store.List()
		if err != nil {
			return 0, err
		}
		for _, n := range ns {
			if n.Name == fs.Arg(0) {
				as, err := store.Attachments(n.Name)
				if err != nil {
					return 0, err
				}
				all, err := store.Services()
				if err != nil {
					return 0, err
				}
				svcs := []netns.Service{}
				for _, svc := range all {
					if svc.Network == n.Name {
						svcs = append(svcs, svc)
					}
				}
				return 0, printJSON(e.stdout, map[string]any{"network": n, "attachments": as, "services": svcs})
			}
		}
		return 0, fmt.Errorf("network %q does not exist", fs.Arg(0))
	case "rm", "remove":
		fs := flags(e, "network rm")
		if err := parse(fs, rest, 1, 1, "NAME"); err != nil {
			return 0, err
		}
		// What dead containers left (a hull killed mid-create) must not keep the network.
		if err := store.Collect(ctx, e.rt.Alive); err != nil {
			return 0, err
		}
		return 0, store.Remove(ctx, fs.Arg(0))
	}
	return 0, usageError{fmt.Sprintf("network: unknown subcommand %q", sub)}
}
