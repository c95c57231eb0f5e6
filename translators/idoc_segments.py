"""SAP IDoc segment layouts for the flat-file format: each segment's fields, in order, with their lengths.

A flat IDoc data record carries its segment's fields as one fixed-width ``SDATA`` string; where a field stands
follows only from the segment definition (SAP transaction WE31 / WE60). Listed here are the segments of the basic
types INVOIC02 and ORDERS05 that the shipped mappings read, up to and including the last field they read, in
SAP's order (later segment versions append fields, so these positions hold for every version). A segment not
listed here keeps its place in the hierarchy but exposes no field; an interface adds its own (a ``Z1...``
extension segment, or more fields) with a CSV file of ``segment,field,length`` rows (decoder option
``segments``), which extends or replaces the entries below.

The control record ``EDI_DC40`` has its own fixed layout (:data:`CONTROL_FIELDS`), the same in every IDoc.
"""

from __future__ import annotations

__all__ = ["CONTROL_FIELDS", "DATA_HEADER", "SEGMENTS"]

#: The control record EDI_DC40 (release 4.x and later, 524 characters).
CONTROL_FIELDS: tuple[tuple[str, int], ...] = (
    ("TABNAM", 10), ("MANDT", 3), ("DOCNUM", 16), ("DOCREL", 4), ("STATUS", 2), ("DIRECT", 1), ("OUTMOD", 1),
    ("EXPRSS", 1), ("TEST", 1), ("IDOCTYP", 30), ("CIMTYP", 30), ("MESTYP", 30), ("MESCOD", 3), ("MESFCT", 3),
    ("STD", 1), ("STDVRS", 6), ("STDMES", 6), ("SNDPOR", 10), ("SNDPRT", 2), ("SNDPFC", 2), ("SNDPRN", 10),
    ("SNDSAD", 21), ("SNDLAD", 70), ("RCVPOR", 10), ("RCVPRT", 2), ("RCVPFC", 2), ("RCVPRN", 10),
    ("RCVSAD", 21), ("RCVLAD", 70), ("CREDAT", 8), ("CRETIM", 6), ("REFINT", 14), ("REFGRP", 14),
    ("REFMES", 14), ("ARCKEY", 70), ("SERIAL", 20),
)  # fmt: skip

#: The administrative part of a data record EDI_DD40 before its SDATA (63 characters).
DATA_HEADER: tuple[tuple[str, int], ...] = (
    ("SEGNAM", 30), ("MANDT", 3), ("DOCNUM", 16), ("SEGNUM", 6), ("PSGNUM", 6), ("HLEVEL", 2),
)  # fmt: skip

_PARTNER: tuple[tuple[str, int], ...] = (
    ("PARVW", 3), ("PARTN", 17), ("LIFNR", 17), ("NAME1", 35), ("NAME2", 35), ("NAME3", 35), ("NAME4", 35),
    ("STRAS", 35), ("STRS2", 35), ("PFACH", 35), ("ORT01", 35), ("COUNC", 9), ("PSTLZ", 9), ("PSTL2", 9),
    ("LAND1", 3),
)  # fmt: skip

SEGMENTS: dict[str, tuple[tuple[str, int], ...]] = {
    "E1EDK01": (
        ("ACTION", 3), ("KZABS", 1), ("CURCY", 3), ("HWAER", 3), ("WKURS", 12), ("ZTERM", 17),
        ("KUNDEUINR", 20), ("EIGENUINR", 20), ("BSART", 4), ("BELNR", 35),
    ),
    "E1EDK02": (("QUALF", 3), ("BELNR", 35), ("POSNR", 6), ("DATUM", 8), ("UZEIT", 6)),
    "E1EDK03": (("IDDAT", 3), ("DATUM", 8), ("UZEIT", 6)),
    "E1EDK05": (
        ("ALCKZ", 3), ("KSCHL", 4), ("KOTXT", 80), ("BETRG", 18), ("KPERC", 8), ("KRATE", 15), ("UPRBS", 9),
        ("MEAUN", 3), ("KOBTR", 18), ("MWSKZ", 7), ("MSATZ", 17), ("KOEIN", 3),
    ),
    "E1EDK14": (("QUALF", 3), ("ORGID", 35)),
    "E1EDK18": (("QUALF", 3), ("TAGE", 8), ("PRZNT", 8), ("ZTERM_TXT", 70)),
    "E1EDKA1": _PARTNER,
    "E1EDP01": (
        ("POSEX", 6), ("ACTION", 3), ("PSTYP", 1), ("KZABS", 1), ("MENGE", 15), ("MENEE", 3), ("BMNG2", 15),
        ("PMENE", 3), ("ABFTZ", 7), ("VPREI", 15), ("PEINH", 9), ("NETWR", 18),
    ),
    "E1EDP02": (("QUALF", 3), ("BELNR", 35), ("ZEILE", 6), ("DATUM", 8), ("UZEIT", 6)),
    "E1EDP04": (("MWSKZ", 7), ("MSATZ", 17), ("MWSBT", 18)),
    "E1EDP19": (("QUALF", 3), ("IDTNR", 35), ("KTEXT", 70)),
    "E1EDP20": (("WMENG", 15), ("AMENG", 15), ("EDATU", 8)),
    "E1EDP26": (("QUALF", 3), ("BETRG", 18)),
    "E1EDPA1": _PARTNER,
    "E1EDS01": (("SUMID", 3), ("SUMME", 18), ("SUNIT", 3), ("WAERQ", 3)),
}  # fmt: skip
