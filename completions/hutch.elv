
use builtin;
use str;

set edit:completion:arg-completer[hutch] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'hutch'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'hutch'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand run 'Run a command in a one-shot sandbox'
            cand profile 'List profiles and show what they contain'
            cand create 'Create a persistent environment (`--host`: the host''s system, a home of its own)'
            cand start 'Start an environment (its supervisor runs detached; output goes to its console log)'
            cand stop 'Stop an environment: ask its PID 1 to shut down as its init expects, SIGKILL after the grace time'
            cand restart 'Restart an environment, as `reboot` inside it does'
            cand update 'Change an environment''s resource limits (now, if it runs and its cgroup allows)'
            cand exec 'Run a command in a running environment; exit status as `hutch run`'
            cand enter 'Open a login shell in a running environment (with a pseudoterminal of its own when you have a terminal)'
            cand cp 'Copy files and directories into or out of an environment, running or not: `hutch cp SRC ENV:DST` or `hutch cp ENV:SRC DST`'
            cand ls 'List environments'
            cand status 'Show one environment''s state'
            cand inspect 'Show one environment''s state'
            cand logs 'Print an environment''s console log'
            cand rm 'Remove an environment and its home (-f: also when running)'
            cand check 'Check whether this host can run sandboxes, and say how to fix what is missing'
            cand completions 'Print a shell completion script for hutch'
            cand image 'Import, list and remove images (root file systems for environments)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hutch;run'= {
            cand --profile 'Profile to start from: a name (your $XDG_CONFIG_HOME/hutch/profiles/NAME.toml, else a built-in: default, strict, dev, ci, base) or a path to a .toml file'
            cand --bind 'Bind SRC (a host path) writable at DST inside (default: the same path)'
            cand --ro-bind 'Bind SRC read-only at DST inside (default: the same path)'
            cand --tmpfs 'Mount a fresh, empty tmpfs at DST'
            cand --chdir 'Run the command in DIR inside the sandbox (default: the current directory)'
            cand --hostname 'Hostname inside the sandbox (default: the profile''s, "sandbox")'
            cand --env 'Set an environment variable inside; a bare NAME passes the host''s value as it is'
            cand --unsetenv 'Remove an environment variable inside'
            cand --net 'Network: none (a namespace of its own with only loopback), host (the host''s network) or pasta (a namespace of its own, connected through pasta) (default: the profile''s; none for the default profile)'
            cand -p 'Forward a host port to a port inside (needs --net pasta); IP limits it to one host address, e.g. 127.0.0.1 for this machine only; repeatable'
            cand --publish 'Forward a host port to a port inside (needs --net pasta); IP limits it to one host address, e.g. 127.0.0.1 for this machine only; repeatable'
            cand --allow-host 'With --net pasta: let the sandbox reach only this name (HTTP and HTTPS, or the given port), matched on the name each connection is for by a forwarder outside; DNS answers only allowed names; *.example.org allows the names under example.org; repeatable'
            cand --rlimit 'Resource limit inside, e.g. nofile=1024:4096 (a lone value sets soft and hard; only lowering a hard limit works without privileges)'
            cand --memory 'Memory limit (memory.max), e.g. 512M or 2G, or `max`; beyond it the whole sandbox is OOM-killed (exit status 137)'
            cand --memory-swap 'Swap limit (memory.swap.max), e.g. 0 (no swap) or 1G, or `max`'
            cand --pids 'Most tasks (processes and threads) at once (pids.max), or `max`'
            cand --cpus 'CPU time as a number of CPUs (cpu.max), e.g. 0.5 or 2'
            cand --cpu-weight 'CPU share against other cgroups, 1 to 10000 (cpu.weight; 100 is the default)'
            cand --io-weight 'I/O share, 1 to 10000 (io.weight; 100 is the default)'
            cand --landlock 'Landlock file-access rules: enforce what the kernel supports, refuse to run without all of them, or none at all (default: the profile''s, best-effort)'
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand --clearenv 'Start from an empty environment: only --env values are set'
            cand --net-host-loopback 'With --net pasta: let the sandbox reach services on the host''s loopback, at its gateway address (named host.hutch.internal in its /etc/hosts)'
            cand --map-root 'Be uid and gid 0 inside (mapped to you outside; no privileges over the host)'
            cand --explain 'Print the resolved plan (namespaces, id maps, mounts, Landlock rules, seccomp policy, capabilities, environment) and exit without running anything'
            cand --json 'With --explain: print the plan as JSON'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'hutch;profile'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand ls 'List the profiles: yours (in $XDG_CONFIG_HOME/hutch/profiles) and the built-ins'
            cand show 'Print a profile''s file, or with --resolved what it amounts to on this host'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hutch;profile;ls'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand --json 'Print a JSON array of {name, source, description, overrides_builtin}'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;profile;show'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand --resolved 'Merge the extends chain and expand the variables, and print the result as TOML'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;profile;help'= {
            cand ls 'List the profiles: yours (in $XDG_CONFIG_HOME/hutch/profiles) and the built-ins'
            cand show 'Print a profile''s file, or with --resolved what it amounts to on this host'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hutch;profile;help;ls'= {
        }
        &'hutch;profile;help;show'= {
        }
        &'hutch;profile;help;help'= {
        }
        &'hutch;create'= {
            cand --image 'Build it from an imported image (`hutch image ls`): root inside, the image''s files under a layer of the environment''s own'
            cand --init 'PID 1: hutch''s own init, or the image''s /sbin/init (its services, its shutdown)'
            cand --profile 'The profile its sandbox starts from (default: base)'
            cand --net 'Network: none (a namespace of its own with only loopback), host (the host''s network) or pasta (a namespace of its own, connected through pasta) (default: the profile''s; none for the default profile)'
            cand -p 'Forward a host port to a port inside (needs --net pasta); IP limits it to one host address, e.g. 127.0.0.1 for this machine only; repeatable'
            cand --publish 'Forward a host port to a port inside (needs --net pasta); IP limits it to one host address, e.g. 127.0.0.1 for this machine only; repeatable'
            cand --allow-host 'With --net pasta: let the sandbox reach only this name (HTTP and HTTPS, or the given port), matched on the name each connection is for by a forwarder outside; DNS answers only allowed names; *.example.org allows the names under example.org; repeatable'
            cand --bind 'Share the host folder (or file) SRC writable at DST inside, at every start (default: the same path); e.g. --bind ~/src; repeatable'
            cand --ro-bind 'Share SRC read-only at DST inside (default: the same path); repeatable'
            cand --tmpfs 'Mount a fresh, empty tmpfs at DST inside at every start; repeatable'
            cand --memory 'Memory limit (memory.max), e.g. 512M or 2G, or `max`; beyond it the whole sandbox is OOM-killed (exit status 137)'
            cand --memory-swap 'Swap limit (memory.swap.max), e.g. 0 (no swap) or 1G, or `max`'
            cand --pids 'Most tasks (processes and threads) at once (pids.max), or `max`'
            cand --cpus 'CPU time as a number of CPUs (cpu.max), e.g. 0.5 or 2'
            cand --cpu-weight 'CPU share against other cgroups, 1 to 10000 (cpu.weight; 100 is the default)'
            cand --io-weight 'I/O share, 1 to 10000 (io.weight; 100 is the default)'
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand --host 'Build it from the host''s own system (read-only), with a persistent home of its own'
            cand --map-root 'Be uid 0 inside; root there may also reboot(2) the environment'
            cand --net-host-loopback 'With --net pasta: let the sandbox reach services on the host''s loopback, at its gateway address (named host.hutch.internal in its /etc/hosts)'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;start'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;stop'= {
            cand -t 'Seconds to wait for a clean shutdown before SIGKILL'
            cand --time 'Seconds to wait for a clean shutdown before SIGKILL'
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;restart'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;update'= {
            cand --memory 'Memory limit (memory.max), e.g. 512M or 2G, or `max`; beyond it the whole sandbox is OOM-killed (exit status 137)'
            cand --memory-swap 'Swap limit (memory.swap.max), e.g. 0 (no swap) or 1G, or `max`'
            cand --pids 'Most tasks (processes and threads) at once (pids.max), or `max`'
            cand --cpus 'CPU time as a number of CPUs (cpu.max), e.g. 0.5 or 2'
            cand --cpu-weight 'CPU share against other cgroups, 1 to 10000 (cpu.weight; 100 is the default)'
            cand --io-weight 'I/O share, 1 to 10000 (io.weight; 100 is the default)'
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;exec'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -t 'Give the command a pseudoterminal inside the environment, even when hutch has no terminal (as podman exec -t)'
            cand --tty 'Give the command a pseudoterminal inside the environment, even when hutch has no terminal (as podman exec -t)'
            cand -i 'Relay stdin even when it is a terminal and the command gets no pseudoterminal (as podman exec -i); a pipe or file on stdin is always relayed'
            cand --interactive 'Relay stdin even when it is a terminal and the command gets no pseudoterminal (as podman exec -i); a pipe or file on stdin is always relayed'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;enter'= {
            cand -u 'Log in as this user of the environment (its /etc/passwd) instead of as yourself or root'
            cand --user 'Log in as this user of the environment (its /etc/passwd) instead of as yourself or root'
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;cp'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;ls'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand --json 'Print JSON'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;status'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand --json 'Print JSON'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;inspect'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand --json 'Print JSON'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;logs'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -f 'Keep printing what is appended'
            cand --follow 'Keep printing what is appended'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;rm'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -f 'Stop it first if it runs'
            cand --force 'Stop it first if it runs'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;check'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand --json 'Print the report as JSON (schema 1, see above)'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'hutch;completions'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'hutch;image'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand import 'Import a root file system as an image, keeping owners, modes and links'
            cand ls 'List images: name, size, creation time, format, digest and source'
            cand rm 'Remove an image (refused while an environment uses it)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hutch;image;import'= {
            cand --name 'The image''s name (default: SRC''s file name without .tar, .gz, ...): letters, digits, `_`, `.`, `-`, up to 63'
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'hutch;image;ls'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand --json 'Print a JSON array of {name, size, created, source, format, digest, files}'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;image;rm'= {
            cand --root 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone'
            cand -v 'Log what hutch does on stderr (-vv for more detail)'
            cand --verbose 'Log what hutch does on stderr (-vv for more detail)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'hutch;image;help'= {
            cand import 'Import a root file system as an image, keeping owners, modes and links'
            cand ls 'List images: name, size, creation time, format, digest and source'
            cand rm 'Remove an image (refused while an environment uses it)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hutch;image;help;import'= {
        }
        &'hutch;image;help;ls'= {
        }
        &'hutch;image;help;rm'= {
        }
        &'hutch;image;help;help'= {
        }
        &'hutch;help'= {
            cand run 'Run a command in a one-shot sandbox'
            cand profile 'List profiles and show what they contain'
            cand create 'Create a persistent environment (`--host`: the host''s system, a home of its own)'
            cand start 'Start an environment (its supervisor runs detached; output goes to its console log)'
            cand stop 'Stop an environment: ask its PID 1 to shut down as its init expects, SIGKILL after the grace time'
            cand restart 'Restart an environment, as `reboot` inside it does'
            cand update 'Change an environment''s resource limits (now, if it runs and its cgroup allows)'
            cand exec 'Run a command in a running environment; exit status as `hutch run`'
            cand enter 'Open a login shell in a running environment (with a pseudoterminal of its own when you have a terminal)'
            cand cp 'Copy files and directories into or out of an environment, running or not: `hutch cp SRC ENV:DST` or `hutch cp ENV:SRC DST`'
            cand ls 'List environments'
            cand status 'Show one environment''s state'
            cand logs 'Print an environment''s console log'
            cand rm 'Remove an environment and its home (-f: also when running)'
            cand check 'Check whether this host can run sandboxes, and say how to fix what is missing'
            cand completions 'Print a shell completion script for hutch'
            cand image 'Import, list and remove images (root file systems for environments)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hutch;help;run'= {
        }
        &'hutch;help;profile'= {
            cand ls 'List the profiles: yours (in $XDG_CONFIG_HOME/hutch/profiles) and the built-ins'
            cand show 'Print a profile''s file, or with --resolved what it amounts to on this host'
        }
        &'hutch;help;profile;ls'= {
        }
        &'hutch;help;profile;show'= {
        }
        &'hutch;help;create'= {
        }
        &'hutch;help;start'= {
        }
        &'hutch;help;stop'= {
        }
        &'hutch;help;restart'= {
        }
        &'hutch;help;update'= {
        }
        &'hutch;help;exec'= {
        }
        &'hutch;help;enter'= {
        }
        &'hutch;help;cp'= {
        }
        &'hutch;help;ls'= {
        }
        &'hutch;help;status'= {
        }
        &'hutch;help;logs'= {
        }
        &'hutch;help;rm'= {
        }
        &'hutch;help;check'= {
        }
        &'hutch;help;completions'= {
        }
        &'hutch;help;image'= {
            cand import 'Import a root file system as an image, keeping owners, modes and links'
            cand ls 'List images: name, size, creation time, format, digest and source'
            cand rm 'Remove an image (refused while an environment uses it)'
        }
        &'hutch;help;image;import'= {
        }
        &'hutch;help;image;ls'= {
        }
        &'hutch;help;image;rm'= {
        }
        &'hutch;help;help'= {
        }
    ]
    $completions[$command]
}
