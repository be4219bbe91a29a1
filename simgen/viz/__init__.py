"""Drawing labels on images and contact sheets; `preview` renders a few images of a scenario."""
