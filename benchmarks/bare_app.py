"""The bare comparison page for ``benchmarks/register.py``: 50 rows from one indexed table, nothing else.

Flask, one SQLAlchemy engine on the benchmark's database (``DATABASE_URL``), one query in primary
key order on the ``service`` table, rendered by a Jinja template compiled once. Served by gunicorn
exactly as the portal is::

    DATABASE_URL=... gunicorn -w 2 -b 127.0.0.1:8001 benchmarks.bare_app:app
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask

from config import normalise_database_url

app = Flask(__name__)
engine = sa.create_engine(normalise_database_url(os.environ["DATABASE_URL"]), pool_pre_ping=True)

QUERY = sa.text("SELECT id, name, location_ref, postcode, service_type FROM service ORDER BY id LIMIT 50")

PAGE = app.jinja_env.from_string("""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Services</title></head>
<body>
<h1>Services</h1>
<table>
  <thead><tr><th>Id</th><th>Name</th><th>Location</th><th>Postcode</th><th>Type</th></tr></thead>
  <tbody>
  {% for row in rows %}
    <tr><td>{{ row.id }}</td><td>{{ row.name }}</td><td>{{ row.location_ref }}</td><td>{{ row.postcode }}</td><td>{{ row.service_type }}</td></tr>
  {% endfor %}
  </tbody>
</table>
</body>
</html>
""")


@app.get("/")
def services():
    with engine.connect() as connection:
        rows = connection.execute(QUERY).all()
    return PAGE.render(rows=rows)
