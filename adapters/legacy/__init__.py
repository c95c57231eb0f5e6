"""Legacy-side adapters: SFTP and folder drops, SOAP endpoints of the legacy ERP."""
