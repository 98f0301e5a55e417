"""The customer portal: configurations, portal sessions, the login link and its passcodes.

Every interface (the ``/v1/billing_portal`` API, the portal pages, the dashboard) calls the
services here: ``configurations`` (portal settings and the login link), ``sessions`` (portal
sessions and the browser access they open) and ``login`` (one-time passcodes for the login link).
"""
