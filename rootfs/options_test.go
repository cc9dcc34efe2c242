package rootfs

import (
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		options []string
		want    mountOpts
		wantErr bool
	}{
		{name: "none"},
		{name: "flags", options: []string{"ro", "nosuid", "nodev", "noexec", "sync", "dirsync", "mand"},
			want: mountOpts{flags: unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_MANDLOCK}},
		{name: "later option clears earlier", options: []string{"ro", "nosuid", "rw", "suid"}},
		{name: "atime family", options: []string{"noatime", "nodiratime", "relatime", "strictatime"},
			want: mountOpts{flags: unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME}},
		{name: "atime clears noatime", options: []string{"noatime", "atime"}},
		{name: "bind", options: []string{"bind"}, want: mountOpts{flags: unix.MS_BIND}},
		{name: "rbind", options: []string{"rbind"}, want: mountOpts{flags: unix.MS_BIND | unix.MS_REC}},
		{name: "remount", options: []string{"remount", "ro"}, want: mountOpts{flags: unix.MS_REMOUNT | unix.MS_RDONLY}},
		{name: "defaults is nothing", options: []string{"defaults"}},
		{name: "propagation is separate", options: []string{"rbind", "rslave", "private"},
			want: mountOpts{flags: unix.MS_BIND | unix.MS_REC, propagation: []uintptr{unix.MS_SLAVE | unix.MS_REC, unix.MS_PRIVATE}}},
		{name: "all propagation", options: []string{"shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable"},
			want: mountOpts{propagation: []uintptr{unix.MS_SHARED, unix.MS_SHARED | unix.MS_REC, unix.MS_SLAVE, unix.MS_SLAVE | unix.MS_REC,
				unix.MS_PRIVATE, unix.MS_PRIVATE | unix.MS_REC, unix.MS_UNBINDABLE, unix.MS_UNBINDABLE | unix.MS_REC}}},
		{name: "data passes through", options: []string{"nosuid", "size=65536k", "mode=755", "newinstance", "ptmxmode=0666", "gid=5"},
			want: mountOpts{flags: unix.MS_NOSUID, data: []string{"size=65536k", "mode=755", "newinstance", "ptmxmode=0666", "gid=5"}}},
		{name: "recursive attributes", options: []string{"rro", "rnosuid", "rnoatime"},
			want: mountOpts{attrSet: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOATIME, attrClr: unix.MOUNT_ATTR__ATIME}},
		{name: "recursive clear", options: []string{"rro", "rrw", "rdev"},
			want: mountOpts{attrClr: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NODEV}},
		{name: "empty option skipped", options: []string{"", "ro"}, want: mountOpts{flags: unix.MS_RDONLY}},
		{name: "idmap refused", options: []string{"idmap"}, wantErr: true},
		{name: "tmpcopyup", options: []string{"rw", "nosuid", "tmpcopyup"}, want: mountOpts{flags: unix.MS_NOSUID, copyUp: true}},
		{name: "NUL refused", options: []string{"size=1\x00"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOptions(tt.options)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMountArgs(t *testing.T) {
	tests := []struct {
		src, dst, fstype string
		flags            uintptr
		data             string
		want             string
	}{
		{"tmpfs", "/dev", "tmpfs", unix.MS_NOSUID, "mode=755", "-t tmpfs tmpfs /dev -o nosuid,mode=755"},
		{"proc", "/proc", "proc", 0, "", "-t proc proc /proc"},
		{"", "/", "", unix.MS_SLAVE | unix.MS_REC, "", "--make-rslave /"},
		{"", "/", "", unix.MS_SHARED, "", "--make-shared /"},
		{"/a", "/b", "", unix.MS_BIND, "", "--bind /a /b"},
		{"/a", "/b", "", unix.MS_BIND | unix.MS_REC, "", "--rbind /a /b"},
		{"", "/b", "", unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY, "", "/b -o remount,bind,ro"},
		{"/r", "/", "", unix.MS_MOVE, "", "--move /r /"},
	}
	for _, tt := range tests {
		if got := mountArgs(tt.src, tt.dst, tt.fstype, tt.flags, tt.data); got != tt.want {
			t.Errorf("mountArgs(%q, %q, %q, %#x, %q) = %q, want %q", tt.src, tt.dst, tt.fstype, tt.flags, tt.data, got, tt.want)
		}
	}
}
