"""Runs cloud-init's own VMware datasource over the guestinfo a test supplies.

The hypervisor side is the only stand-in: DMI reports a VMware platform, and vmware-rpctool is
a small script that answers info-get from a JSON file and records every info-set. Everything
else, reading, decoding and redacting guestinfo, is cloud-init's code (Debian's package).
Usage: python3 cloud-init-vmware.py <guestinfo.json> <workdir>; prints JSON to stdout.
"""
import json
import os
import stat
import sys

from cloudinit import helpers
from cloudinit.sources import DataSourceVMware as vmware

guestinfo_path, workdir = sys.argv[1], sys.argv[2]
log_path = os.path.join(workdir, "rpctool.log")
rpctool = os.path.join(workdir, "vmware-rpctool")
with open(rpctool, "w") as script:
    script.write(
        f"""#!/usr/bin/python3
import json, sys
store_path, log_path = {guestinfo_path!r}, {log_path!r}
store = json.load(open(store_path))
verb, _, rest = sys.argv[1].partition(" ")
if verb == "info-get":
    if rest not in store:
        sys.stderr.write("No value found"); sys.exit(1)
    sys.stdout.write(store[rest])
elif verb == "info-set":
    key, _, value = rest.partition(" ")
    store[key] = value
    json.dump(store, open(store_path, "w"))
    with open(log_path, "a") as log:
        log.write(json.dumps([key, value]) + "\\n")
"""
    )
os.chmod(rpctool, os.stat(rpctool).st_mode | stat.S_IEXEC)

vmware.dmi.read_dmi_data = lambda key: "VMware Virtual Platform"
paths = helpers.Paths({"cloud_dir": os.path.join(workdir, "cloud"), "run_dir": os.path.join(workdir, "run")})
source = vmware.DataSourceVMware({}, None, paths)
source.vmware_rpctool = rpctool
found = source._get_data()
userdata = source.userdata_raw
if isinstance(userdata, bytes):
    userdata = userdata.decode()
sets = [json.loads(line) for line in open(log_path)] if os.path.exists(log_path) else []
print(json.dumps({"found": found, "method": source.data_access_method, "userdata": userdata, "metadata": source.metadata, "sets": sets, "guestinfo": json.load(open(guestinfo_path))}, default=str))
