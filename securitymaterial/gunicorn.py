"""Gunicorn settings for every way the service is run (scripts/run, Dockerfile, compose):
gunicorn --config python:securitymaterial.gunicorn ...

The access log shows the path without its query string and no Referer: the Redirect URL's
query holds the authorization code and state, and a page shown at the Redirect URL sends
that whole URL as the Referer of the stylesheets it loads.
"""

accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'
