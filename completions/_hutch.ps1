
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'hutch' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'hutch'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'hutch' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a command in a one-shot sandbox')
            [CompletionResult]::new('profile', 'profile', [CompletionResultType]::ParameterValue, 'List profiles and show what they contain')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a persistent environment (`--host`: the host''s system, a home of its own)')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start an environment (its supervisor runs detached; output goes to its console log)')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop an environment: ask its PID 1 to shut down as its init expects, SIGKILL after the grace time')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Restart an environment, as `reboot` inside it does')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change an environment''s resource limits (now, if it runs and its cgroup allows)')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command in a running environment; exit status as `hutch run`')
            [CompletionResult]::new('enter', 'enter', [CompletionResultType]::ParameterValue, 'Open a login shell in a running environment (with a pseudoterminal of its own when you have a terminal)')
            [CompletionResult]::new('cp', 'cp', [CompletionResultType]::ParameterValue, 'Copy files and directories into or out of an environment, running or not: `hutch cp SRC ENV:DST` or `hutch cp ENV:SRC DST`')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List environments')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show one environment''s state')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show one environment''s state')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print an environment''s console log')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove an environment and its home (-f: also when running)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check whether this host can run sandboxes, and say how to fix what is missing')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script for hutch')
            [CompletionResult]::new('image', 'image', [CompletionResultType]::ParameterValue, 'Import, list and remove images (root file systems for environments)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hutch;run' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile to start from: a name (your $XDG_CONFIG_HOME/hutch/profiles/NAME.toml, else a built-in: default, strict, dev, ci, base) or a path to a .toml file')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Bind SRC (a host path) writable at DST inside (default: the same path)')
            [CompletionResult]::new('--ro-bind', '--ro-bind', [CompletionResultType]::ParameterName, 'Bind SRC read-only at DST inside (default: the same path)')
            [CompletionResult]::new('--tmpfs', '--tmpfs', [CompletionResultType]::ParameterName, 'Mount a fresh, empty tmpfs at DST')
            [CompletionResult]::new('--chdir', '--chdir', [CompletionResultType]::ParameterName, 'Run the command in DIR inside the sandbox (default: the current directory)')
            [CompletionResult]::new('--hostname', '--hostname', [CompletionResultType]::ParameterName, 'Hostname inside the sandbox (default: the profile''s, "sandbox")')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Set an environment variable inside; a bare NAME passes the host''s value as it is')
            [CompletionResult]::new('--unsetenv', '--unsetenv', [CompletionResultType]::ParameterName, 'Remove an environment variable inside')
            [CompletionResult]::new('--net', '--net', [CompletionResultType]::ParameterName, 'Network: none (a namespace of its own with only loopback), host (the host''s network) or pasta (a namespace of its own, connected through pasta) (default: the profile''s; none for the default profile)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Forward a host port to a port inside (needs --net pasta); IP limits it to one host address, e.g. 127.0.0.1 for this machine only; repeatable')
            [CompletionResult]::new('--publish', '--publish', [CompletionResultType]::ParameterName, 'Forward a host port to a port inside (needs --net pasta); IP limits it to one host address, e.g. 127.0.0.1 for this machine only; repeatable')
            [CompletionResult]::new('--allow-host', '--allow-host', [CompletionResultType]::ParameterName, 'With --net pasta: let the sandbox reach only this name (HTTP and HTTPS, or the given port), matched on the name each connection is for by a forwarder outside; DNS answers only allowed names; *.example.org allows the names under example.org; repeatable')
            [CompletionResult]::new('--rlimit', '--rlimit', [CompletionResultType]::ParameterName, 'Resource limit inside, e.g. nofile=1024:4096 (a lone value sets soft and hard; only lowering a hard limit works without privileges)')
            [CompletionResult]::new('--memory', '--memory', [CompletionResultType]::ParameterName, 'Memory limit (memory.max), e.g. 512M or 2G, or `max`; beyond it the whole sandbox is OOM-killed (exit status 137)')
            [CompletionResult]::new('--memory-swap', '--memory-swap', [CompletionResultType]::ParameterName, 'Swap limit (memory.swap.max), e.g. 0 (no swap) or 1G, or `max`')
            [CompletionResult]::new('--pids', '--pids', [CompletionResultType]::ParameterName, 'Most tasks (processes and threads) at once (pids.max), or `max`')
            [CompletionResult]::new('--cpus', '--cpus', [CompletionResultType]::ParameterName, 'CPU time as a number of CPUs (cpu.max), e.g. 0.5 or 2')
            [CompletionResult]::new('--cpu-weight', '--cpu-weight', [CompletionResultType]::ParameterName, 'CPU share against other cgroups, 1 to 10000 (cpu.weight; 100 is the default)')
            [CompletionResult]::new('--io-weight', '--io-weight', [CompletionResultType]::ParameterName, 'I/O share, 1 to 10000 (io.weight; 100 is the default)')
            [CompletionResult]::new('--landlock', '--landlock', [CompletionResultType]::ParameterName, 'Landlock file-access rules: enforce what the kernel supports, refuse to run without all of them, or none at all (default: the profile''s, best-effort)')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('--clearenv', '--clearenv', [CompletionResultType]::ParameterName, 'Start from an empty environment: only --env values are set')
            [CompletionResult]::new('--net-host-loopback', '--net-host-loopback', [CompletionResultType]::ParameterName, 'With --net pasta: let the sandbox reach services on the host''s loopback, at its gateway address (named host.hutch.internal in its /etc/hosts)')
            [CompletionResult]::new('--map-root', '--map-root', [CompletionResultType]::ParameterName, 'Be uid and gid 0 inside (mapped to you outside; no privileges over the host)')
            [CompletionResult]::new('--explain', '--explain', [CompletionResultType]::ParameterName, 'Print the resolved plan (namespaces, id maps, mounts, Landlock rules, seccomp policy, capabilities, environment) and exit without running anything')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'With --explain: print the plan as JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'hutch;profile' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the profiles: yours (in $XDG_CONFIG_HOME/hutch/profiles) and the built-ins')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print a profile''s file, or with --resolved what it amounts to on this host')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hutch;profile;ls' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array of {name, source, description, overrides_builtin}')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;profile;show' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('--resolved', '--resolved', [CompletionResultType]::ParameterName, 'Merge the extends chain and expand the variables, and print the result as TOML')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;profile;help' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the profiles: yours (in $XDG_CONFIG_HOME/hutch/profiles) and the built-ins')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print a profile''s file, or with --resolved what it amounts to on this host')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hutch;profile;help;ls' {
            break
        }
        'hutch;profile;help;show' {
            break
        }
        'hutch;profile;help;help' {
            break
        }
        'hutch;create' {
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Build it from an imported image (`hutch image ls`): root inside, the image''s files under a layer of the environment''s own')
            [CompletionResult]::new('--init', '--init', [CompletionResultType]::ParameterName, 'PID 1: hutch''s own init, or the image''s /sbin/init (its services, its shutdown)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile its sandbox starts from (default: base)')
            [CompletionResult]::new('--net', '--net', [CompletionResultType]::ParameterName, 'Network: none (a namespace of its own with only loopback), host (the host''s network) or pasta (a namespace of its own, connected through pasta) (default: the profile''s; none for the default profile)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Forward a host port to a port inside (needs --net pasta); IP limits it to one host address, e.g. 127.0.0.1 for this machine only; repeatable')
            [CompletionResult]::new('--publish', '--publish', [CompletionResultType]::ParameterName, 'Forward a host port to a port inside (needs --net pasta); IP limits it to one host address, e.g. 127.0.0.1 for this machine only; repeatable')
            [CompletionResult]::new('--allow-host', '--allow-host', [CompletionResultType]::ParameterName, 'With --net pasta: let the sandbox reach only this name (HTTP and HTTPS, or the given port), matched on the name each connection is for by a forwarder outside; DNS answers only allowed names; *.example.org allows the names under example.org; repeatable')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Share the host folder (or file) SRC writable at DST inside, at every start (default: the same path); e.g. --bind ~/src; repeatable')
            [CompletionResult]::new('--ro-bind', '--ro-bind', [CompletionResultType]::ParameterName, 'Share SRC read-only at DST inside (default: the same path); repeatable')
            [CompletionResult]::new('--tmpfs', '--tmpfs', [CompletionResultType]::ParameterName, 'Mount a fresh, empty tmpfs at DST inside at every start; repeatable')
            [CompletionResult]::new('--memory', '--memory', [CompletionResultType]::ParameterName, 'Memory limit (memory.max), e.g. 512M or 2G, or `max`; beyond it the whole sandbox is OOM-killed (exit status 137)')
            [CompletionResult]::new('--memory-swap', '--memory-swap', [CompletionResultType]::ParameterName, 'Swap limit (memory.swap.max), e.g. 0 (no swap) or 1G, or `max`')
            [CompletionResult]::new('--pids', '--pids', [CompletionResultType]::ParameterName, 'Most tasks (processes and threads) at once (pids.max), or `max`')
            [CompletionResult]::new('--cpus', '--cpus', [CompletionResultType]::ParameterName, 'CPU time as a number of CPUs (cpu.max), e.g. 0.5 or 2')
            [CompletionResult]::new('--cpu-weight', '--cpu-weight', [CompletionResultType]::ParameterName, 'CPU share against other cgroups, 1 to 10000 (cpu.weight; 100 is the default)')
            [CompletionResult]::new('--io-weight', '--io-weight', [CompletionResultType]::ParameterName, 'I/O share, 1 to 10000 (io.weight; 100 is the default)')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Build it from the host''s own system (read-only), with a persistent home of its own')
            [CompletionResult]::new('--map-root', '--map-root', [CompletionResultType]::ParameterName, 'Be uid 0 inside; root there may also reboot(2) the environment')
            [CompletionResult]::new('--net-host-loopback', '--net-host-loopback', [CompletionResultType]::ParameterName, 'With --net pasta: let the sandbox reach services on the host''s loopback, at its gateway address (named host.hutch.internal in its /etc/hosts)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;start' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;stop' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Seconds to wait for a clean shutdown before SIGKILL')
            [CompletionResult]::new('--time', '--time', [CompletionResultType]::ParameterName, 'Seconds to wait for a clean shutdown before SIGKILL')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;restart' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;update' {
            [CompletionResult]::new('--memory', '--memory', [CompletionResultType]::ParameterName, 'Memory limit (memory.max), e.g. 512M or 2G, or `max`; beyond it the whole sandbox is OOM-killed (exit status 137)')
            [CompletionResult]::new('--memory-swap', '--memory-swap', [CompletionResultType]::ParameterName, 'Swap limit (memory.swap.max), e.g. 0 (no swap) or 1G, or `max`')
            [CompletionResult]::new('--pids', '--pids', [CompletionResultType]::ParameterName, 'Most tasks (processes and threads) at once (pids.max), or `max`')
            [CompletionResult]::new('--cpus', '--cpus', [CompletionResultType]::ParameterName, 'CPU time as a number of CPUs (cpu.max), e.g. 0.5 or 2')
            [CompletionResult]::new('--cpu-weight', '--cpu-weight', [CompletionResultType]::ParameterName, 'CPU share against other cgroups, 1 to 10000 (cpu.weight; 100 is the default)')
            [CompletionResult]::new('--io-weight', '--io-weight', [CompletionResultType]::ParameterName, 'I/O share, 1 to 10000 (io.weight; 100 is the default)')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;exec' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Give the command a pseudoterminal inside the environment, even when hutch has no terminal (as podman exec -t)')
            [CompletionResult]::new('--tty', '--tty', [CompletionResultType]::ParameterName, 'Give the command a pseudoterminal inside the environment, even when hutch has no terminal (as podman exec -t)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Relay stdin even when it is a terminal and the command gets no pseudoterminal (as podman exec -i); a pipe or file on stdin is always relayed')
            [CompletionResult]::new('--interactive', '--interactive', [CompletionResultType]::ParameterName, 'Relay stdin even when it is a terminal and the command gets no pseudoterminal (as podman exec -i); a pipe or file on stdin is always relayed')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;enter' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Log in as this user of the environment (its /etc/passwd) instead of as yourself or root')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Log in as this user of the environment (its /etc/passwd) instead of as yourself or root')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;cp' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;ls' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;status' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;inspect' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;logs' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep printing what is appended')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing what is appended')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;rm' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Stop it first if it runs')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Stop it first if it runs')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;check' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as JSON (schema 1, see above)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'hutch;completions' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'hutch;image' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import a root file system as an image, keeping owners, modes and links')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List images: name, size, creation time, format, digest and source')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove an image (refused while an environment uses it)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hutch;image;import' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The image''s name (default: SRC''s file name without .tar, .gz, ...): letters, digits, `_`, `.`, `-`, up to 63')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'hutch;image;ls' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array of {name, size, created, source, format, digest, files}')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;image;rm' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Keep state (images, environments and what runs of them) under DIR/data instead of $XDG_DATA_HOME/hutch; DIR must be writable by you alone')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what hutch does on stderr (-vv for more detail)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'hutch;image;help' {
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import a root file system as an image, keeping owners, modes and links')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List images: name, size, creation time, format, digest and source')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove an image (refused while an environment uses it)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hutch;image;help;import' {
            break
        }
        'hutch;image;help;ls' {
            break
        }
        'hutch;image;help;rm' {
            break
        }
        'hutch;image;help;help' {
            break
        }
        'hutch;help' {
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a command in a one-shot sandbox')
            [CompletionResult]::new('profile', 'profile', [CompletionResultType]::ParameterValue, 'List profiles and show what they contain')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a persistent environment (`--host`: the host''s system, a home of its own)')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start an environment (its supervisor runs detached; output goes to its console log)')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop an environment: ask its PID 1 to shut down as its init expects, SIGKILL after the grace time')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Restart an environment, as `reboot` inside it does')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change an environment''s resource limits (now, if it runs and its cgroup allows)')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command in a running environment; exit status as `hutch run`')
            [CompletionResult]::new('enter', 'enter', [CompletionResultType]::ParameterValue, 'Open a login shell in a running environment (with a pseudoterminal of its own when you have a terminal)')
            [CompletionResult]::new('cp', 'cp', [CompletionResultType]::ParameterValue, 'Copy files and directories into or out of an environment, running or not: `hutch cp SRC ENV:DST` or `hutch cp ENV:SRC DST`')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List environments')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show one environment''s state')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print an environment''s console log')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove an environment and its home (-f: also when running)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check whether this host can run sandboxes, and say how to fix what is missing')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script for hutch')
            [CompletionResult]::new('image', 'image', [CompletionResultType]::ParameterValue, 'Import, list and remove images (root file systems for environments)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hutch;help;run' {
            break
        }
        'hutch;help;profile' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the profiles: yours (in $XDG_CONFIG_HOME/hutch/profiles) and the built-ins')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print a profile''s file, or with --resolved what it amounts to on this host')
            break
        }
        'hutch;help;profile;ls' {
            break
        }
        'hutch;help;profile;show' {
            break
        }
        'hutch;help;create' {
            break
        }
        'hutch;help;start' {
            break
        }
        'hutch;help;stop' {
            break
        }
        'hutch;help;restart' {
            break
        }
        'hutch;help;update' {
            break
        }
        'hutch;help;exec' {
            break
        }
        'hutch;help;enter' {
            break
        }
        'hutch;help;cp' {
            break
        }
        'hutch;help;ls' {
            break
        }
        'hutch;help;status' {
            break
        }
        'hutch;help;logs' {
            break
        }
        'hutch;help;rm' {
            break
        }
        'hutch;help;check' {
            break
        }
        'hutch;help;completions' {
            break
        }
        'hutch;help;image' {
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import a root file system as an image, keeping owners, modes and links')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List images: name, size, creation time, format, digest and source')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove an image (refused while an environment uses it)')
            break
        }
        'hutch;help;image;import' {
            break
        }
        'hutch;help;image;ls' {
            break
        }
        'hutch;help;image;rm' {
            break
        }
        'hutch;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
