"""`make deploy|start|stop|restart|logs|status ENV=<tier>` on the owner's own host.

A tier lives in `$HELIONYX_DEPLOY_ROOT/<tier>/` (default `/opt/helionyx/<tier>/`):
`releases/<git sha>/` (the code at that commit and its own venv), `current` (a symlink,
switched atomically), `shared/` (`.env.<tier>` and the data directory `var/`, which
releases only link to). `layout.py` names those paths, `release.py` builds and prunes
releases, `service.py` and `systemd.py` start and stop the service, `deploy.py` runs a
deploy and its rollback. docs/DEPLOYMENT.md is the operator's side of it.
"""
