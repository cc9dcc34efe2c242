package main

import "flag"

// imageFlags are create's and run's flags for a container from an image (hull's own, as
// `docker run` spells them); without --image, create and run are runc's.
type imageFlags struct {
	ref, user, workdir, hostname string
	entrypoint                   *string
	env                          []string
	tty, readOnly, quiet         bool
}

func addImageFlags(fs *flag.FlagSet, f *imageFlags) {
	fs.StringVar(&f.ref, "image", "", "run this image (pulled if missing) instead of a bundle: ID [CMD...]")
	env := func(s string) error { f.env = append(f.env, s); return nil }
	fs.Func("env", "with --image: set KEY=VALUE (repeatable)", env)
	fs.Func("e", "short for --env", env)
	fs.StringVar(&f.user, "user", "", "with --image: run as user[:group] (name or id)")
	fs.StringVar(&f.user, "u", "", "short for --user")
	fs.StringVar(&f.workdir, "workdir", "", "with --image: working directory")
	fs.StringVar(&f.workdir, "w", "", "short for --workdir")
	fs.Func("entrypoint", "with --image: replace the image's entrypoint", func(s string) error {
		f.entrypoint = &s
		return nil
	})
	fs.StringVar(&f.hostname, "hostname", "", "with --image: hostname (default: the container ID)")
	fs.BoolVar(&f.tty, "tty", false, "with --image: give the process a terminal")
	fs.BoolVar(&f.tty, "t", false, "short for --tty")
	fs.BoolVar(&f.readOnly, "read-only", false, "with --image: a read-only root filesystem")
	fs.BoolVar(&f.quiet, "quiet-pull", false, "with --image: no pull progress")
}
