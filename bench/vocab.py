"""Romanian names, streets and the organization's tag vocabulary (with diacritics: ș ț ă î â, comma-below forms)."""

from __future__ import annotations

MALE_FIRST = [
    "Andrei", "Alexandru", "Ion", "Ionuț", "Mihai", "Mihăiță", "Gheorghe", "Vasile", "Constantin", "Nicolae",
    "Ștefan", "Răzvan", "Cătălin", "Bogdan", "Cristian", "Adrian", "Florin", "Marius", "Dan", "Dragoș",
    "Radu", "Sorin", "Valentin", "Tudor", "Matei", "Luca", "David", "Gabriel", "Costel", "Dumitru",
    "Petru", "Paul", "Lucian", "Silviu", "Horia", "Octavian", "Emil", "Viorel", "Ovidiu", "Nicușor",
    "Aurel", "Cezar", "Eugen", "Liviu", "Teodor", "Victor", "Iulian", "Mircea", "Sebastian", "Ilie",
    "Costică", "Traian", "Laurențiu", "Fănel", "Gică", "Titus", "Șerban", "Vlad", "Darius", "Ștefăniță",
]
FEMALE_FIRST = [
    "Maria", "Elena", "Ioana", "Ana", "Andreea", "Alexandra", "Cristina", "Mihaela", "Gabriela", "Daniela",
    "Cătălina", "Răluca", "Raluca", "Irina", "Simona", "Diana", "Monica", "Laura", "Oana", "Roxana",
    "Georgiana", "Adriana", "Larisa", "Bianca", "Sorina", "Florentina", "Nicoleta", "Valentina", "Camelia", "Corina",
    "Lăcrămioara", "Ștefania", "Teodora", "Alina", "Luminița", "Violeta", "Doina", "Aurelia", "Viorica", "Rodica",
    "Mirela", "Paula", "Sânziana", "Ilinca", "Iulia", "Antonia", "Denisa", "Anca", "Carmen", "Tatiana",
    "Floarea", "Ileana", "Angela", "Marioara", "Anișoara", "Smaranda", "Ecaterina", "Zoița", "Brândușa", "Natalia",
]
LAST_NAMES = [
    "Popescu", "Ionescu", "Popa", "Pop", "Radu", "Dumitru", "Stan", "Stoica", "Gheorghe", "Matei",
    "Ciobanu", "Rusu", "Munteanu", "Constantin", "Marin", "Mihai", "Ilie", "Florea", "Dinu", "Diaconu",
    "Stănescu", "Dumitrescu", "Georgescu", "Vlădescu", "Țurcanu", "Mușat", "Șerban", "Tănase", "Neagu", "Niță",
    "Lăzărescu", "Bălan", "Bădescu", "Căpraru", "Dobre", "Enache", "Filip", "Grigore", "Iordache", "Lungu",
    "Moldovan", "Nistor", "Oprea", "Pârvu", "Răducanu", "Sârbu", "Toma", "Ursu", "Voicu", "Zamfir",
    "Ștefănescu", "Ţepeș", "Cârstea", "Mănescu", "Preda", "Roșu", "Sandu", "Tudor", "Ungureanu", "Vasilescu",
    "Andrei", "Barbu", "Cristea", "Drăgan", "Epure", "Fănică", "Gavrilă", "Hâncu", "Ispas", "Jitaru",
    "Lupu", "Manole", "Nedelcu", "Olteanu", "Pană", "Rădulescu", "Surdu", "Tudose", "Vâlcu", "Zăvoianu",
    "Anghel", "Bucur", "Cojocaru", "Dragomir", "Ene", "Frățilă", "Ghiță", "Husar", "Iacob", "Istrate",
    "Kovács", "Szabó", "Nagy", "Lazăr", "Mocanu", "Nicolescu", "Paraschiv", "Petrescu", "Șandru", "Țăranu",
]
STREET_TYPES = [("Strada", 70), ("Bulevardul", 6), ("Calea", 4), ("Șoseaua", 4), ("Aleea", 9), ("Intrarea", 5),
                ("Splaiul", 1), ("Piața", 1)]
STREET_NAMES = [
    "Ștefan cel Mare", "Mihai Bravu", "Doamna Ghica", "Țepeș Vodă", "Lânăriei", "Pădurea Neagră", "Mătăsari",
    "Dorobanților", "Victoriei", "Moșilor", "Rahovei", "Giurgiului", "Pantelimon", "Colentina", "Iancului",
    "Văcărești", "Berceni", "Brâncoveanu", "Dristorului", "Câmpina", "Ghencea", "Drumul Taberei", "Militari",
    "Crângași", "Giulești", "Grivița", "Băneasa", "Pipera", "Floreasca", "Tei", "Ștefan Greceanu", "Traian",
    "Unirii", "Decebal", "Burebista", "Basarabia", "Nerva Traian", "Fizicienilor", "Liviu Rebreanu", "Mihai Eminescu",
    "Ion Creangă", "George Coșbuc", "Tudor Arghezi", "Lucian Blaga", "Nichita Stănescu", "Ion Luca Caragiale",
    "Vasile Alecsandri", "Grigore Alexandrescu", "Mircea cel Bătrân", "Alexandru cel Bun", "Matei Basarab",
    "Constantin Brâncuși", "Nicolae Grigorescu", "Ștefan Luchian", "Theodor Aman", "Ion Câmpineanu", "Lipscani",
    "Covaci", "Blănari", "Șelari", "Gabroveni", "Smârdan", "Sfinții Apostoli", "Sfântul Ștefan", "Zăvoiului",
    "Fântânica", "Plumbuita", "Socului", "Teiul Doamnei", "Barbu Văcărescu", "Maria Rosetti", "Italiană", "Polonă",
    "Tunari", "Popa Nan", "Popa Tatu", "Țăranilor", "Gârlei", "Râului", "Dâmboviței", "Argeșului", "Oltului",
    "Mureșului", "Bistriței", "Someșului", "Crișului", "Prutului", "Siretului", "Jiului", "Ialomiței", "Buzăului",
    "Brașov", "Sibiu", "Câmpulung", "Făgăraș", "Târgu Jiu", "Pitești", "Ploiești", "Brăila", "Iași", "Timișoara",
    "Cluj", "Suceava", "Bacău", "Constanța", "Galați", "Craiova", "Tulcea", "Vaslui", "Bârlad", "Turnu Măgurele",
    "Primăverii", "Toamnei", "Florilor", "Trandafirilor", "Castanilor", "Teilor", "Salcâmilor", "Plopilor", "Nucului",
    "Măgurele", "Lacul Tei", "Lacul Morii", "Parcului", "Fabricii", "Morii", "Băii", "Școlii", "Bisericii", "Gării",
    "Aviatorilor", "Eroilor", "Păcii", "Libertății", "Unității", "Independenței", "Revoluției", "Republicii",
    "Apusului", "Răsăritului", "Luncii", "Văii", "Dealului", "Câmpului", "Pădurii", "Izvorului", "Fântânii",
    "Sălăjan", "Nițu Vasile", "Obregia", "Oltenița", "Brâncoveni", "Vitan", "Ion Mihalache", "Ilioara", "Tineretului",
]
SECTOR_POPULATION = [225_000, 345_000, 385_000, 290_000, 270_000, 370_000]  # relative weights for sectors 1..6
ILFOV = [  # towns around Bucharest (outside the sector polygons): name, lon, lat, postal prefix
    ("Voluntari", 26.170, 44.490, "077190"), ("Otopeni", 26.075, 44.550, "075100"),
    ("Popești-Leordeni", 26.170, 44.380, "077160"), ("Chiajna", 25.980, 44.460, "077040"),
    ("Bragadiru", 25.975, 44.370, "077025"), ("Pantelimon", 26.200, 44.450, "077145"),
    ("Măgurele", 26.030, 44.350, "077125"), ("Chitila", 25.980, 44.505, "077045"),
]
EMAIL_DOMAINS = [("gmail.com", 55), ("yahoo.com", 20), ("yahoo.ro", 8), ("outlook.com", 6), ("hotmail.com", 4),
                 ("icloud.com", 3), ("protonmail.com", 1), ("rdslink.ro", 2), ("upcmail.ro", 1)]
# (tag, share of contacts). 'pensions' is the one the targeting benchmarks select on (~25%).
TAGS = [
    ("pensions", 0.25), ("education", 0.12), ("health", 0.11), ("transport", 0.10), ("housing", 0.08),
    ("environment", 0.07), ("anti-corruption", 0.06), ("parking", 0.05), ("green-spaces", 0.05),
    ("bike-lanes", 0.03), ("district-heating", 0.06), ("public-safety", 0.04), ("culture", 0.03), ("sports", 0.02),
    ("small-business", 0.02), ("youth", 0.03), ("seniors", 0.04), ("animal-welfare", 0.02), ("newsletter", 0.10),
    ("event-2024", 0.03), ("petition-parks", 0.02), ("do-not-visit", 0.01), ("diaspora", 0.01),
    ("bloc-admin", 0.005),
]
MOBILE_PREFIXES = ["72", "73", "74", "75", "76", "77", "78", "79"]
