# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_hutch_global_optspecs
    string join \n v/verbose q/quiet root= h/help V/version
end

function __fish_hutch_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_hutch_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_hutch_using_subcommand
    set -l cmd (__fish_hutch_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c hutch -n "__fish_hutch_needs_command" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_needs_command" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_needs_command" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hutch -n "__fish_hutch_needs_command" -s V -l version -d 'Print version'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "run" -d 'Run a command in a one-shot sandbox'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "profile" -d 'List profiles and show what they contain'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "create" -d 'Create a persistent environment (`--host`: the host\'s system, a home of its own)'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "start" -d 'Start an environment (its supervisor runs detached; output goes to its console log)'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "stop" -d 'Stop an environment: ask its PID 1 to shut down as its init expects, SIGKILL after the grace time'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "restart" -d 'Restart an environment, as `reboot` inside it does'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "update" -d 'Change an environment\'s resource limits (now, if it runs and its cgroup allows)'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "exec" -d 'Run a command in a running environment; exit status as `hutch run`'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "enter" -d 'Open a login shell in a running environment (with a pseudoterminal of its own when you have a terminal)'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "cp" -d 'Copy files and directories into or out of an environment, running or not: `hutch cp SRC ENV:DST` or `hutch cp ENV:SRC DST`'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "ls" -d 'List environments'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "status" -d 'Show one environment\'s state'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "inspect" -d 'Show one environment\'s state'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "logs" -d 'Print an environment\'s console log'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "rm" -d 'Remove an environment and its home (-f: also when running)'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "check" -d 'Check whether this host can run sandboxes, and say how to fix what is missing'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "completions" -d 'Print a shell completion script for hutch'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "image" -d 'Import, list and remove images (root file systems for environments)'
complete -c hutch -n "__fish_hutch_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hutch -n "__fish_hutch_using_subcommand run" -l profile -d 'Profile to start from: a name (your $XDG_CONFIG_HOME/hutch/profiles/NAME.toml, else a built-in: default, strict, dev, ci, base) or a path to a .toml file' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l bind -d 'Bind SRC (a host path) writable at DST inside (default: the same path)' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l ro-bind -d 'Bind SRC read-only at DST inside (default: the same path)' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l tmpfs -d 'Mount a fresh, empty tmpfs at DST' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l chdir -d 'Run the command in DIR inside the sandbox (default: the current directory)' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand run" -l hostname -d 'Hostname inside the sandbox (default: the profile\'s, "sandbox")' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l env -d 'Set an environment variable inside; a bare NAME passes the host\'s value as it is' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l unsetenv -d 'Remove an environment variable inside' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l net -d 'Network: none (a namespace of its own with only loopback), host (the host\'s network) or pasta (a namespace of its own, connected through pasta) (default: the profile\'s; none for the default profile)' -r -f -a "none\t''
host\t''
pasta\t''"
complete -c hutch -n "__fish_hutch_using_subcommand run" -s p -l publish -d 'Forward a host port to a port inside (needs --net pasta); IP limits it to one host address, e.g. 127.0.0.1 for this machine only; repeatable' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l allow-host -d 'With --net pasta: let the sandbox reach only this name (HTTP and HTTPS, or the given port), matched on the name each connection is for by a forwarder outside; DNS answers only allowed names; *.example.org allows the names under example.org; repeatable' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l rlimit -d 'Resource limit inside, e.g. nofile=1024:4096 (a lone value sets soft and hard; only lowering a hard limit works without privileges)' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l memory -d 'Memory limit (memory.max), e.g. 512M or 2G, or `max`; beyond it the whole sandbox is OOM-killed (exit status 137)' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l memory-swap -d 'Swap limit (memory.swap.max), e.g. 0 (no swap) or 1G, or `max`' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l pids -d 'Most tasks (processes and threads) at once (pids.max), or `max`' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l cpus -d 'CPU time as a number of CPUs (cpu.max), e.g. 0.5 or 2' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l cpu-weight -d 'CPU share against other cgroups, 1 to 10000 (cpu.weight; 100 is the default)' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l io-weight -d 'I/O share, 1 to 10000 (io.weight; 100 is the default)' -r
complete -c hutch -n "__fish_hutch_using_subcommand run" -l landlock -d 'Landlock file-access rules: enforce what the kernel supports, refuse to run without all of them, or none at all (default: the profile\'s, best-effort)' -r -f -a "best-effort\t''
require\t''
off\t''"
complete -c hutch -n "__fish_hutch_using_subcommand run" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand run" -l clearenv -d 'Start from an empty environment: only --env values are set'
complete -c hutch -n "__fish_hutch_using_subcommand run" -l net-host-loopback -d 'With --net pasta: let the sandbox reach services on the host\'s loopback, at its gateway address (named host.hutch.internal in its /etc/hosts)'
complete -c hutch -n "__fish_hutch_using_subcommand run" -l map-root -d 'Be uid and gid 0 inside (mapped to you outside; no privileges over the host)'
complete -c hutch -n "__fish_hutch_using_subcommand run" -l explain -d 'Print the resolved plan (namespaces, id maps, mounts, Landlock rules, seccomp policy, capabilities, environment) and exit without running anything'
complete -c hutch -n "__fish_hutch_using_subcommand run" -l json -d 'With --explain: print the plan as JSON'
complete -c hutch -n "__fish_hutch_using_subcommand run" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand run" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and not __fish_seen_subcommand_from ls show help" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand profile; and not __fish_seen_subcommand_from ls show help" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and not __fish_seen_subcommand_from ls show help" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and not __fish_seen_subcommand_from ls show help" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and not __fish_seen_subcommand_from ls show help" -f -a "ls" -d 'List the profiles: yours (in $XDG_CONFIG_HOME/hutch/profiles) and the built-ins'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and not __fish_seen_subcommand_from ls show help" -f -a "show" -d 'Print a profile\'s file, or with --resolved what it amounts to on this host'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and not __fish_seen_subcommand_from ls show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from ls" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from ls" -l json -d 'Print a JSON array of {name, source, description, overrides_builtin}'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from show" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from show" -l resolved -d 'Merge the extends chain and expand the variables, and print the result as TOML'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List the profiles: yours (in $XDG_CONFIG_HOME/hutch/profiles) and the built-ins'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print a profile\'s file, or with --resolved what it amounts to on this host'
complete -c hutch -n "__fish_hutch_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hutch -n "__fish_hutch_using_subcommand create" -l image -d 'Build it from an imported image (`hutch image ls`): root inside, the image\'s files under a layer of the environment\'s own' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l init -d 'PID 1: hutch\'s own init, or the image\'s /sbin/init (its services, its shutdown)' -r -f -a "hutch\t''
system\t''"
complete -c hutch -n "__fish_hutch_using_subcommand create" -l profile -d 'The profile its sandbox starts from (default: base)' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l net -d 'Network: none (a namespace of its own with only loopback), host (the host\'s network) or pasta (a namespace of its own, connected through pasta) (default: the profile\'s; none for the default profile)' -r -f -a "none\t''
host\t''
pasta\t''"
complete -c hutch -n "__fish_hutch_using_subcommand create" -s p -l publish -d 'Forward a host port to a port inside (needs --net pasta); IP limits it to one host address, e.g. 127.0.0.1 for this machine only; repeatable' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l allow-host -d 'With --net pasta: let the sandbox reach only this name (HTTP and HTTPS, or the given port), matched on the name each connection is for by a forwarder outside; DNS answers only allowed names; *.example.org allows the names under example.org; repeatable' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l bind -d 'Share the host folder (or file) SRC writable at DST inside, at every start (default: the same path); e.g. --bind ~/src; repeatable' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l ro-bind -d 'Share SRC read-only at DST inside (default: the same path); repeatable' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l tmpfs -d 'Mount a fresh, empty tmpfs at DST inside at every start; repeatable' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l memory -d 'Memory limit (memory.max), e.g. 512M or 2G, or `max`; beyond it the whole sandbox is OOM-killed (exit status 137)' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l memory-swap -d 'Swap limit (memory.swap.max), e.g. 0 (no swap) or 1G, or `max`' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l pids -d 'Most tasks (processes and threads) at once (pids.max), or `max`' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l cpus -d 'CPU time as a number of CPUs (cpu.max), e.g. 0.5 or 2' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l cpu-weight -d 'CPU share against other cgroups, 1 to 10000 (cpu.weight; 100 is the default)' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l io-weight -d 'I/O share, 1 to 10000 (io.weight; 100 is the default)' -r
complete -c hutch -n "__fish_hutch_using_subcommand create" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand create" -l host -d 'Build it from the host\'s own system (read-only), with a persistent home of its own'
complete -c hutch -n "__fish_hutch_using_subcommand create" -l map-root -d 'Be uid 0 inside; root there may also reboot(2) the environment'
complete -c hutch -n "__fish_hutch_using_subcommand create" -l net-host-loopback -d 'With --net pasta: let the sandbox reach services on the host\'s loopback, at its gateway address (named host.hutch.internal in its /etc/hosts)'
complete -c hutch -n "__fish_hutch_using_subcommand create" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand create" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand create" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand start" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand start" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand start" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand start" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand stop" -s t -l time -d 'Seconds to wait for a clean shutdown before SIGKILL' -r
complete -c hutch -n "__fish_hutch_using_subcommand stop" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand stop" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand stop" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand stop" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand restart" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand restart" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand restart" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand restart" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand update" -l memory -d 'Memory limit (memory.max), e.g. 512M or 2G, or `max`; beyond it the whole sandbox is OOM-killed (exit status 137)' -r
complete -c hutch -n "__fish_hutch_using_subcommand update" -l memory-swap -d 'Swap limit (memory.swap.max), e.g. 0 (no swap) or 1G, or `max`' -r
complete -c hutch -n "__fish_hutch_using_subcommand update" -l pids -d 'Most tasks (processes and threads) at once (pids.max), or `max`' -r
complete -c hutch -n "__fish_hutch_using_subcommand update" -l cpus -d 'CPU time as a number of CPUs (cpu.max), e.g. 0.5 or 2' -r
complete -c hutch -n "__fish_hutch_using_subcommand update" -l cpu-weight -d 'CPU share against other cgroups, 1 to 10000 (cpu.weight; 100 is the default)' -r
complete -c hutch -n "__fish_hutch_using_subcommand update" -l io-weight -d 'I/O share, 1 to 10000 (io.weight; 100 is the default)' -r
complete -c hutch -n "__fish_hutch_using_subcommand update" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand update" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand update" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand update" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand exec" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand exec" -s t -l tty -d 'Give the command a pseudoterminal inside the environment, even when hutch has no terminal (as podman exec -t)'
complete -c hutch -n "__fish_hutch_using_subcommand exec" -s i -l interactive -d 'Relay stdin even when it is a terminal and the command gets no pseudoterminal (as podman exec -i); a pipe or file on stdin is always relayed'
complete -c hutch -n "__fish_hutch_using_subcommand exec" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand exec" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand exec" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand enter" -s u -l user -d 'Log in as this user of the environment (its /etc/passwd) instead of as yourself or root' -r
complete -c hutch -n "__fish_hutch_using_subcommand enter" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand enter" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand enter" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand enter" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand cp" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand cp" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand cp" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand cp" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand ls" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand ls" -l json -d 'Print JSON'
complete -c hutch -n "__fish_hutch_using_subcommand ls" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand ls" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand ls" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand status" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand status" -l json -d 'Print JSON'
complete -c hutch -n "__fish_hutch_using_subcommand status" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand status" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand status" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand inspect" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand inspect" -l json -d 'Print JSON'
complete -c hutch -n "__fish_hutch_using_subcommand inspect" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand inspect" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand logs" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand logs" -s f -l follow -d 'Keep printing what is appended'
complete -c hutch -n "__fish_hutch_using_subcommand logs" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand logs" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand logs" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand rm" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand rm" -s f -l force -d 'Stop it first if it runs'
complete -c hutch -n "__fish_hutch_using_subcommand rm" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand rm" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand rm" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand check" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand check" -l json -d 'Print the report as JSON (schema 1, see above)'
complete -c hutch -n "__fish_hutch_using_subcommand check" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand check" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hutch -n "__fish_hutch_using_subcommand completions" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand completions" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand completions" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hutch -n "__fish_hutch_using_subcommand image; and not __fish_seen_subcommand_from import ls rm help" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand image; and not __fish_seen_subcommand_from import ls rm help" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand image; and not __fish_seen_subcommand_from import ls rm help" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand image; and not __fish_seen_subcommand_from import ls rm help" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand image; and not __fish_seen_subcommand_from import ls rm help" -f -a "import" -d 'Import a root file system as an image, keeping owners, modes and links'
complete -c hutch -n "__fish_hutch_using_subcommand image; and not __fish_seen_subcommand_from import ls rm help" -f -a "ls" -d 'List images: name, size, creation time, format, digest and source'
complete -c hutch -n "__fish_hutch_using_subcommand image; and not __fish_seen_subcommand_from import ls rm help" -f -a "rm" -d 'Remove an image (refused while an environment uses it)'
complete -c hutch -n "__fish_hutch_using_subcommand image; and not __fish_seen_subcommand_from import ls rm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from import" -l name -d 'The image\'s name (default: SRC\'s file name without .tar, .gz, ...): letters, digits, `_`, `.`, `-`, up to 63' -r
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from import" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from import" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from ls" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from ls" -l json -d 'Print a JSON array of {name, size, created, source, format, digest, files}'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from rm" -l root -d 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone' -r -F
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from rm" -s v -l verbose -d 'Log what hutch does on stderr (-vv for more detail)'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'Print nothing but errors'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from help" -f -a "import" -d 'Import a root file system as an image, keeping owners, modes and links'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List images: name, size, creation time, format, digest and source'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove an image (refused while an environment uses it)'
complete -c hutch -n "__fish_hutch_using_subcommand image; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "run" -d 'Run a command in a one-shot sandbox'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "profile" -d 'List profiles and show what they contain'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "create" -d 'Create a persistent environment (`--host`: the host\'s system, a home of its own)'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "start" -d 'Start an environment (its supervisor runs detached; output goes to its console log)'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "stop" -d 'Stop an environment: ask its PID 1 to shut down as its init expects, SIGKILL after the grace time'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "restart" -d 'Restart an environment, as `reboot` inside it does'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "update" -d 'Change an environment\'s resource limits (now, if it runs and its cgroup allows)'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "exec" -d 'Run a command in a running environment; exit status as `hutch run`'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "enter" -d 'Open a login shell in a running environment (with a pseudoterminal of its own when you have a terminal)'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "cp" -d 'Copy files and directories into or out of an environment, running or not: `hutch cp SRC ENV:DST` or `hutch cp ENV:SRC DST`'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "ls" -d 'List environments'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "status" -d 'Show one environment\'s state'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "logs" -d 'Print an environment\'s console log'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "rm" -d 'Remove an environment and its home (-f: also when running)'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "check" -d 'Check whether this host can run sandboxes, and say how to fix what is missing'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "completions" -d 'Print a shell completion script for hutch'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "image" -d 'Import, list and remove images (root file systems for environments)'
complete -c hutch -n "__fish_hutch_using_subcommand help; and not __fish_seen_subcommand_from run profile create start stop restart update exec enter cp ls status logs rm check completions image help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hutch -n "__fish_hutch_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "ls" -d 'List the profiles: yours (in $XDG_CONFIG_HOME/hutch/profiles) and the built-ins'
complete -c hutch -n "__fish_hutch_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "show" -d 'Print a profile\'s file, or with --resolved what it amounts to on this host'
complete -c hutch -n "__fish_hutch_using_subcommand help; and __fish_seen_subcommand_from image" -f -a "import" -d 'Import a root file system as an image, keeping owners, modes and links'
complete -c hutch -n "__fish_hutch_using_subcommand help; and __fish_seen_subcommand_from image" -f -a "ls" -d 'List images: name, size, creation time, format, digest and source'
complete -c hutch -n "__fish_hutch_using_subcommand help; and __fish_seen_subcommand_from image" -f -a "rm" -d 'Remove an image (refused while an environment uses it)'
