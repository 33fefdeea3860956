"""Local stand-ins of the two real services, for the demo and the tests.

They behave like the real services as the evidence in the research notes shows them
(``docs/evidence/eog.md``, ``docs/evidence/blackmarble.md``), not like idealised ones, at a
reduced pixel size:

- :mod:`.httpserver` -- :class:`~.httpserver.StandinServer`, the shared base: a real
  HTTP server on 127.0.0.1 with a request log, HTTP ``Range`` and injectable faults.
- :mod:`.eog` -- :class:`~.eog.EOGServer`: ``eogdata.mines.edu`` behind Apache
  mod_auth_openidc (a 302 to the login page without a valid bearer token), serving
  :mod:`.keycloak`, the realm ``eog`` (password and refresh grants, 5-minute tokens,
  Keycloak's errors, the login page), and :mod:`.apaxy`, the Apaxy-themed Apache
  directory listings.
- :mod:`.laads` -- :class:`~.laads.LAADSServer`: LAADS DAAC ``/archive/allData`` with
  ``.csv``/``.json`` month listings and an Earthdata-login redirect to another host.
- :mod:`.world` -- the synthetic scene both sources sample, so their numbers compare.
- :mod:`.eog_tiles` -- synthetic EOG monthly ``.tgz`` archives in the real layout,
  with the real service's naming variants.
- :mod:`.blackmarble_tiles` -- synthetic VNP46A3 HDF5 files (needs ``h5py``).

Nothing is imported here, so ``python -m sezlights_standin.eog`` starts without numpy.
"""
