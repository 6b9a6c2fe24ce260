"""Complete an image's SBOM: cyclonedx-py's CycloneDX document of the image's Python
environment, plus every installed Debian package (dpkg's own list) as a component with its
package URL, and the image itself as the document's subject.

    python3 add-debian-packages.py PYTHON_SBOM OUTPUT IMAGE_NAME VERSION

Runs at image build with the image's own interpreter and the standard library only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

DPKG_FORMAT = "${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n"


def debian_packages() -> list[dict[str, object]]:
    listed = subprocess.run(  # noqa: S603  (dpkg's own tool, a fixed argument list)
        ["/usr/bin/dpkg-query", "--show", f"--showformat={DPKG_FORMAT}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    components = []
    for line in sorted(listed.splitlines()):
        name, version, architecture, status = line.split("\t")
        if not status.startswith("ii"):  # installed only, not removed leftovers
            continue
        purl = f"pkg:deb/debian/{name}@{quote(version, safe='')}?arch={architecture}"
        components.append(
            {
                "type": "library",
                "bom-ref": purl,
                "name": name,
                "version": version,
                "purl": purl,
            }
        )
    return components


def main(python_sbom: str, output: str, image: str, version: str) -> None:
    document = json.loads(Path(python_sbom).read_text(encoding="utf-8"))
    document.setdefault("components", []).extend(debian_packages())
    metadata = document.setdefault("metadata", {})
    metadata["component"] = {
        "type": "container",
        "bom-ref": f"{image}@{version}",
        "name": image,
        "version": version,
    }
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:5])
