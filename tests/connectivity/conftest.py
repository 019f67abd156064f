from tests.mailservers import imap_server, mail_oauth, maildirs, smtp_server

__all__ = ["imap_server", "mail_oauth", "maildirs", "smtp_server"]
