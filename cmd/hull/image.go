//go:build !hulllean

package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hullrt/hull/rootfs/image"
)

const imageUsage = "image: usage: hull image pull|import|ls|inspect|tag|rm|prune ..."

// cmdImage is hull's own verb (runc has none): hull image pull|import|ls|inspect|tag|rm|prune.
func cmdImage(ctx context.Context, e *env, args []string) (int, error) {
	if len(args) == 0 {
		return 0, usageError{imageUsage}
	}
	sub, rest := args[0], args[1:]
	run, ok := map[string]func(context.Context, *env, []string) (int, error){
		"pull": cmdImagePull, "import": cmdImageImport, "load": cmdImageImport,
		"ls": cmdImageList, "list": cmdImageList, "inspect": cmdImageInspect, "tag": cmdImageTag,
		"rm": cmdImageRemove, "remove": cmdImageRemove, "prune": cmdImagePrune,
	}[sub]
	if !ok {
		return 0, usageError{fmt.Sprintf("image: unknown subcommand %q", sub)}
	}
	return run(ctx, e, rest)
}

func (e *env) images() (*image.Store, error) { return image.Open(e.g.imageDir, e.rt.Log) }

func cmdImagePull(ctx context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "image pull")
	quiet := fs.Bool("quiet", false, "print only the image ID")
	fs.BoolVar(quiet, "q", false, "short for --quiet")
	if err := parse(fs, args, 1, 1, "[--quiet] REF"); err != nil {
		return 0, err
	}
	st, err := e.images()
	if err != nil {
		return 0, err
	}
	img, err := st.Pull(ctx, fs.Arg(0), image.Options{Progress: newProgress(e.stdout, *quiet).update})
	if err != nil {
		return 0, err
	}
	printAdded(e, img, *quiet)
	return 0, nil
}

func cmdImageImport(ctx context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "image import")
	quiet := fs.Bool("quiet", false, "print only the image ID")
	fs.BoolVar(quiet, "q", false, "short for --quiet")
	if err := parse(fs, args, 1, 2, "[--quiet] PATH [NAME]"); err != nil {
		return 0, err
	}
	st, err := e.images()
	if err != nil {
		return 0, err
	}
	img, err := st.Import(ctx, fs.Arg(0), fs.Arg(1), image.Options{Progress: newProgress(e.stdout, *quiet).update})
	if err != nil {
		return 0, err
	}
	printAdded(e, img, *quiet)
	return 0, nil
}

func printAdded(e *env, img *image.Image, quiet bool) {
	if quiet {
		fmt.Fprintln(e.stdout, img.ID)
		return
	}
	names := "<none>"
	if len(img.Names) > 0 {
		names = image.Short(img.Names[0])
	}
	fmt.Fprintf(e.stdout, "%s %s %d layers %s\n", names, img.ID, len(img.Layers), humanSize(img.Size))
}

func cmdImageList(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "image ls")
	quiet := fs.Bool("quiet", false, "print only image IDs")
	fs.BoolVar(quiet, "q", false, "short for --quiet")
	format := fs.String("format", "table", "table or json")
	if err := parse(fs, args, 0, 0, "[--quiet] [--format table|json]"); err != nil {
		return 0, err
	}
	st, err := e.images()
	if err != nil {
		return 0, err
	}
	imgs, err := st.List()
	if err != nil {
		return 0, err
	}
	switch {
	case *quiet:
		for _, img := range imgs {
			fmt.Fprintln(e.stdout, img.ID)
		}
		return 0, nil
	case *format == "json":
		return 0, printJSON(e.stdout, imgs)
	case *format != "table":
		return 0, usageError{fmt.Sprintf("unknown --format %q", *format)}
	}
	w := tabwriter.NewWriter(e.stdout, 10, 1, 3, ' ', 0)
	fmt.Fprintln(w, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	for _, img := range imgs {
		names := img.Names
		if len(names) == 0 {
			names = []string{"<none>:<none>"}
		}
		for _, n := range names {
			repo, tag := splitName(image.Short(n))
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", repo, tag, shortDigest(img.ID), ago(img.Created), humanSize(img.Size))
		}
	}
	return 0, w.Flush()
}

func splitName(n string) (repo, tag string) {
	if i := strings.LastIndex(n, "@"); i >= 0 {
		return n[:i], n[i+1:]
	}
	if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
		return n[:i], n[i+1:]
	}
	return n, "<none>"
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "less than a minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func cmdImageInspect(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "image inspect")
	if err := parse(fs, args, 1, -1, "REF..."); err != nil {
		return 0, err
	}
	st, err := e.images()
	if err != nil {
		return 0, err
	}
	var out []*image.Image
	for _, ref := range fs.Args() {
		img, err := st.Get(ref)
		if err != nil {
			return 0, err
		}
		out = append(out, img)
	}
	return 0, printJSON(e.stdout, out)
}

func cmdImageTag(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "image tag")
	if err := parse(fs, args, 2, 2, "SOURCE TARGET"); err != nil {
		return 0, err
	}
	st, err := e.images()
	if err != nil {
		return 0, err
	}
	return 0, st.Tag(fs.Arg(0), fs.Arg(1))
}

func cmdImageRemove(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "image rm")
	force := fs.Bool("force", false, "remove an image containers were made from (their roots stay)")
	fs.BoolVar(force, "f", false, "short for --force")
	if err := parse(fs, args, 1, -1, "[--force] REF..."); err != nil {
		return 0, err
	}
	st, err := e.images()
	if err != nil {
		return 0, err
	}
	for _, ref := range fs.Args() {
		rep, err := st.Remove(ref, *force)
		if err != nil {
			return 0, err
		}
		if len(rep.Images) == 0 {
			fmt.Fprintf(e.stdout, "Untagged: %s\n", ref)
		}
		for _, id := range rep.Images {
			fmt.Fprintf(e.stdout, "Deleted: %s\n", id)
		}
	}
	return 0, nil
}

func cmdImagePrune(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "image prune")
	quiet := fs.Bool("quiet", false, "print nothing")
	fs.BoolVar(quiet, "q", false, "short for --quiet")
	if err := parse(fs, args, 0, 0, "[--quiet]"); err != nil {
		return 0, err
	}
	st, err := e.images()
	if err != nil {
		return 0, err
	}
	rep, err := st.Prune()
	if err != nil {
		return 0, err
	}
	if !*quiet {
		fmt.Fprintf(e.stdout, "removed %d images, %d layers, %d blobs\n", len(rep.Images), len(rep.Layers), rep.Blobs)
	}
	return 0, nil
}
