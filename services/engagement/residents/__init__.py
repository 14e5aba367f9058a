"""A resident's own page (``/me``), opened by a link mailed to their address: no password.

``tokens``: the rules of links and sessions (no I/O); ``details``: what the page's forms accept;
``store``: their SQL; ``pages``: the handlers; ``export``: all the platform holds on the person,
gathered from the three services."""
