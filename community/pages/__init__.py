"""The page machinery: what makes a page cheap to serve again, in one place.

- cache.py: the anonymous page cache (the WSGI middleware for cookie-less readers and
  `cached_for_anonymous` for the rest), keyed by the content versions of services/freshness;
- threads.py: comment threads as HTML, shared by every reader, with a marker where each
  reader's own state goes, and the filling of those markers for one reader;
- readers.py: who a page is filled for (`Reader`), the stand-in for a whole class of
  readers (`ClassReader`), and the registry of per-reader slots: the one place that says
  what differs between readers;
- frames.py: the logged-in episode page rendered once per class of reader and filled
  per request, and the episode page's shared sections;
- posts.py: this process's copy of a hot episode's posts, brought up to date per rebuild;
- transcript.py: the transcript's sentences on the episode page, kept per revision;
- urls.py: the addresses inside thread HTML, built once from the url_map.

Views import from here; nothing here imports a view."""
