"""systemd's system-call groups (@system-service, @privileged...) and how a unit's
SystemCallFilter= lines combine them, shared by derive-syscalls and run-sandboxed."""
import subprocess


def groups():
    """Every group of this systemd, each with its calls, nested groups resolved.
    One `systemd-analyze syscall-filter` run: it lists them all."""
    text = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"],
                          check=True, capture_output=True, text=True).stdout
    members, current = {}, None
    for line in text.splitlines():
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        if not line.startswith(" "):
            current = members.setdefault(word, [])
        elif current is not None:
            current.append(word)

    def resolve(name, seen=()):
        if not name.startswith("@"):
            return {name}
        calls = set()
        for word in members.get(name, []):
            if word not in seen:
                calls |= resolve(word, seen + (name,))
        return calls

    return {name: resolve(name) for name in members}


def allowed_calls(filter_values, known):
    """The calls a unit's SystemCallFilter= values let through, read as systemd reads them
    when the first one is an allow list (None when it is a deny list)."""
    if not filter_values or filter_values[0].startswith("~"):
        return None
    allowed = set()
    for value in filter_values:
        deny = value.startswith("~")
        for word in value.lstrip("~").split():
            calls = known.get(word, set()) if word.startswith("@") else {word}
            allowed = allowed - calls if deny else allowed | calls
    return allowed
