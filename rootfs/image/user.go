package image

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ResolveUser turns an image's User ("", "uid", "uid:gid", "name", "name:group") into ids.
// conversion.md: "If the user is specified by name, the converter MUST look it up in the
// container's /etc/passwd"; "If Config.User does not correspond to a user in the container's
// context, the converter MUST return an error." A named user also gets the supplementary groups
// /etc/group lists it in, as Docker gives them.
func ResolveUser(rootfs, user string) (specs.User, error) {
	if user == "" {
		return specs.User{}, nil
	}
	uname, gname, hasGroup := strings.Cut(user, ":")
	passwd, _ := readInRoot(rootfs, "/etc/passwd")
	group, _ := readInRoot(rootfs, "/etc/group")
	var u specs.User
	name := ""
	if id, err := strconv.ParseUint(uname, 10, 32); err == nil {
		u.UID = uint32(id)
		if e, ok := findEntry(passwd, func(f []string) bool { return f[2] == uname }); ok {
			name = e[0]
			u.GID = parseID(e[3])
		}
	} else {
		e, ok := findEntry(passwd, func(f []string) bool { return f[0] == uname })
		if !ok {
			return u, fmt.Errorf("user %q: no such user in the image's /etc/passwd", uname)
		}
		name, u.UID, u.GID = e[0], parseID(e[2]), parseID(e[3])
	}
	if hasGroup {
		if id, err := strconv.ParseUint(gname, 10, 32); err == nil {
			u.GID = uint32(id)
		} else {
			e, ok := findEntry(group, func(f []string) bool { return f[0] == gname })
			if !ok {
				return u, fmt.Errorf("group %q: no such group in the image's /etc/group", gname)
			}
			u.GID = parseID(e[2])
		}
		return u, nil // an explicit group: no supplementary groups, as under Docker
	}
	if name != "" {
		for _, line := range strings.Split(group, "\n") {
			f := strings.Split(line, ":")
			if len(f) < 4 {
				continue
			}
			for _, m := range strings.Split(f[3], ",") {
				if g := parseID(f[2]); m == name && g != u.GID {
					u.AdditionalGids = append(u.AdditionalGids, g)
				}
			}
		}
	}
	return u, nil
}

func parseID(s string) uint32 {
	id, _ := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	return uint32(id)
}

// findEntry returns the fields of the first passwd/group line match accepts.
func findEntry(content string, match func([]string) bool) ([]string, bool) {
	sc := bufio.NewScanner(strings.NewReader(content))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) >= 4 && match(f) {
			return f, true
		}
	}
	return nil, false
}

// readInRoot reads a file of the container's root, resolving symlinks as if rootfs were "/"
// (openat2 RESOLVE_IN_ROOT), so an image's /etc/passwd symlink cannot make hull read the host's.
func readInRoot(rootfs, p string) (string, error) {
	rfd, err := unix.Open(rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(rfd)
	fd, err := unix.Openat2(rfd, p, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	return string(b), err
}
