"""GroundGame: an open-source organizing CRM."""
