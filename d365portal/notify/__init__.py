"""`d365portal notify`: tell customers when something happens on their cases and hour banks (issue 14).

It follows Dataverse's change tracking (`Prefer: odata.track-changes`, delta links) on the tables the
portal shows, one delta request per table per poll, whatever the number of cases:
- `events.py` turns changed rows into events (an agent's comment or web note, "Esperando detalles",
  resolved or cancelled, an hour bank under 20 % / empty / ending within 30 days);
- `deliver.py` finds who may hear of it (the case's contact, the account's portal users: with a portal
  account, `donotemail` off, the kind switched on in their preferences) and mails them in their
  language, each mail one more Dataverse request at most;
- `runner.py` holds the lease (one notifier at a time, through the shared store), polls, and keeps the
  bookkeeping: the delta tokens, each table's last-seen state, and a key per mail sent, all in the
  shared store and advanced only after the SMTP server accepted the mail.
"""
