#!/usr/bin/env bash
# A rotation-angle derivative image, like PSDR-CUDA's example: d image / d theta for the
# green box of env_sphere.xml turning about the vertical axis through its centroid.
# Shows: forward-mode geometry derivatives through a latent rotation, with the silhouette
# term (the red/blue fringes along the box's outline and creases) and the shadow term of the
# constant environment (the box's soft shadow on the floor).
# Time on a 2-core CPU: about 20 s at 256x256, 64 spp, after compilation.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/invrender grad-image scenes/env_sphere.xml --param cube.rotate --direction 0,1,0 \
    --spp 64 --res 256 256 --max-depth 2 -o runs/grad_image_rotate/cube_rotate.exr
