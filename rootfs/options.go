package rootfs

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOpts is what one spec mount's option strings mean to the kernel.
type mountOpts struct {
	flags       uintptr   // MS_* bits for mount(2)
	propagation []uintptr // MS_SHARED, MS_SLAVE, ... each needs its own mount(2) call
	data        []string  // filesystem options (size=, mode=, newinstance, ...) passed through
	attrSet     uint64    // MOUNT_ATTR_* to set recursively with mount_setattr(2) (rro, rnosuid, ...)
	attrClr     uint64    // MOUNT_ATTR_* to clear recursively
	copyUp      bool      // tmpcopyup: fill a new tmpfs with what the directory under it held
}

// flagOption is a mount(8) option that sets or clears one MS_* bit.
type flagOption struct {
	clear bool
	flag  uintptr
}

// flagOptions are the option strings the OCI spec's "Linux mount options" table lists as
// mount(2) flags, with the same meaning as in runc.
var flagOptions = map[string]flagOption{
	"acl":           {false, unix.MS_POSIXACL},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"atime":         {true, unix.MS_NOATIME},
	"bind":          {false, unix.MS_BIND},
	"defaults":      {false, 0},
	"dev":           {true, unix.MS_NODEV},
	"diratime":      {true, unix.MS_NODIRATIME},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"exec":          {true, unix.MS_NOEXEC},
	"iversion":      {false, unix.MS_I_VERSION},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"loud":          {true, unix.MS_SILENT},
	"mand":          {false, unix.MS_MANDLOCK},
	"noacl":         {true, unix.MS_POSIXACL},
	"noatime":       {false, unix.MS_NOATIME},
	"nodev":         {false, unix.MS_NODEV},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"noexec":        {false, unix.MS_NOEXEC},
	"noiversion":    {true, unix.MS_I_VERSION},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"nomand":        {true, unix.MS_MANDLOCK},
	"norelatime":    {true, unix.MS_RELATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"nosuid":        {false, unix.MS_NOSUID},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"relatime":      {false, unix.MS_RELATIME},
	"remount":       {false, unix.MS_REMOUNT},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"silent":        {false, unix.MS_SILENT},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"suid":          {true, unix.MS_NOSUID},
	"sync":          {false, unix.MS_SYNCHRONOUS},
}

// propagationOptions change how mount events travel between peer mounts. The kernel
// takes exactly one of them per mount(2) call, without other flags.
var propagationOptions = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"shared":      unix.MS_SHARED,
	"slave":       unix.MS_SLAVE,
	"unbindable":  unix.MS_UNBINDABLE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// propagationMask is every MS_* bit that only a propagation call may carry.
const propagationMask = unix.MS_SHARED | unix.MS_SLAVE | unix.MS_PRIVATE | unix.MS_UNBINDABLE

// recursiveOptions are the "r" options the spec implements with mount_setattr(2) and
// AT_RECURSIVE, so that they reach every mount under an rbind too.
var recursiveOptions = map[string]struct {
	clear bool
	attr  uint64
}{
	"rro":          {false, unix.MOUNT_ATTR_RDONLY},
	"rrw":          {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":      {false, unix.MOUNT_ATTR_NOSUID},
	"rsuid":        {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev":       {false, unix.MOUNT_ATTR_NODEV},
	"rdev":         {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec":      {false, unix.MOUNT_ATTR_NOEXEC},
	"rexec":        {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":  {false, unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":    {true, unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow": {false, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":   {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
}

// recursiveAtime are the atime options for mount_setattr(2). The atime modes are an enum,
// not bits: the kernel wants MOUNT_ATTR__ATIME cleared whenever one is set.
var recursiveAtime = map[string]uint64{
	"rnoatime":       unix.MOUNT_ATTR_NOATIME,
	"rrelatime":      unix.MOUNT_ATTR_RELATIME,
	"rstrictatime":   unix.MOUNT_ATTR_STRICTATIME,
	"ratime":         unix.MOUNT_ATTR_RELATIME, // back to the kernel default
	"rnorelatime":    unix.MOUNT_ATTR_STRICTATIME,
	"rnostrictatime": unix.MOUNT_ATTR_RELATIME,
}

// unsupportedOptions are spec or runc extensions hull refuses rather than silently ignores.
var unsupportedOptions = map[string]string{
	"idmap":     "idmapped mounts are not supported",
	"ridmap":    "idmapped mounts are not supported",
	"nodevices": "nodevices is a Solaris option",
}

// parseOptions turns a spec mount's options into flags, propagation calls and data.
// Anything it does not know is filesystem data, as in runc: the kernel has the last word.
func parseOptions(options []string) (mountOpts, error) {
	var o mountOpts
	for _, opt := range options {
		if f, ok := flagOptions[opt]; ok {
			if f.clear {
				o.flags &^= f.flag
			} else {
				o.flags |= f.flag
			}
			continue
		}
		if p, ok := propagationOptions[opt]; ok {
			o.propagation = append(o.propagation, p)
			continue
		}
		if r, ok := recursiveOptions[opt]; ok {
			if r.clear {
				o.attrClr |= r.attr
				o.attrSet &^= r.attr
			} else {
				o.attrSet |= r.attr
				o.attrClr &^= r.attr
			}
			continue
		}
		if a, ok := recursiveAtime[opt]; ok {
			o.attrSet = o.attrSet&^unix.MOUNT_ATTR__ATIME | a
			o.attrClr |= unix.MOUNT_ATTR__ATIME
			continue
		}
		if opt == "tmpcopyup" {
			o.copyUp = true
			continue
		}
		if why, ok := unsupportedOptions[opt]; ok {
			return mountOpts{}, fmt.Errorf("option %q: %s", opt, why)
		}
		if opt == "" {
			continue
		}
		if strings.ContainsRune(opt, 0) {
			return mountOpts{}, fmt.Errorf("option %q contains a NUL byte", opt)
		}
		o.data = append(o.data, opt)
	}
	return o, nil
}
