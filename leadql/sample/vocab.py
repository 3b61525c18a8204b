"""Embedded reference data for the sample generator: names, nicknames, places, streets, companies.

Everything is plain ASCII and already in the form LeadQL's normalisers produce (proper-cased names,
upper-case USPS streets, two-letter states, five-digit ZIPs), so the hidden truth is normalised.

Frequencies: first names and surnames are listed in (approximate) US frequency order and weighted
by rank; first names carry a birth-era tag (o: peaked before 1965, m: 1965-1989, y: 1990 and
later) that makes older people Lindas and younger ones Emmas. Places: about 300 real cities with
their state, a share of the state's population, their real three-digit ZIP prefixes and area codes;
state populations are 2023 estimates in millions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ----------------------------------------------------------------------------- first names
# "Name:era" in approximate frequency order among US adults; era o / m / y (see module docstring).

_FEMALE = """
Mary:o Patricia:o Jennifer:m Linda:o Elizabeth Barbara:o Susan:o Jessica:m Sarah:m Karen:o
Lisa:m Nancy:o Betty:o Sandra:o Margaret:o Ashley:y Kimberly:m Emily:y Donna:o Michelle:m
Carol:o Amanda:m Melissa:m Deborah:o Stephanie:m Dorothy:o Rebecca:m Sharon:o Laura:m Cynthia:o
Amy:m Kathleen:o Angela:m Shirley:o Brenda:o Emma:y Anna Pamela:o Nicole:m Samantha:y
Katherine Christine:m Debra:o Rachel:m Carolyn:o Janet:o Maria Olivia:y Heather:m Helen:o
Catherine Diane:o Julie:m Victoria:y Joyce:o Lauren:y Kelly:m Christina:m Ruth:o Joan:o
Virginia:o Judith:o Evelyn:o Hannah:y Andrea:m Megan:y Cheryl:o Jacqueline:m Madison:y Teresa:o
Abigail:y Sophia:y Martha:o Sara:m Gloria:o Janice:o Kathryn:m Ann:o Isabella:y Judy:o
Charlotte:y Julia:y Grace:y Amber:m Alice:o Jean:o Denise:o Frances:o Danielle:m Marilyn:o
Natalie:y Beverly:o Diana:m Brittany:y Theresa:o Kayla:y Alexis:y Doris:o Lori:m Tiffany:m
Kathy:o Tammy:m Rose:o Crystal:m Jane:o Alexandra:y Mia:y Ava:y Chloe:y Taylor:y
Erin:m Tracy:m Wendy:m Lillian:o Dawn:m Monica:m Vanessa:m Jasmine:y Courtney:y Morgan:y
Kristen:m Erica:m Allison:y Holly:m Sherry:o Jill:m Leslie:m Valerie:m Caroline:y Gabriella:y
Destiny:y Brianna:y Haley:y Sydney:y Avery:y Ella:y Aubrey:y Zoe:y Lily:y Addison:y
Riley:y Harper:y Aria:y Scarlett:y Layla:y Nora:y Camila:y Penelope:y Leah:y Savannah:y
Brooklyn:y Claire:y Skylar:y Audrey:y Bella:y Stella:y Hazel:y Violet:y Aaliyah:y Ximena:y
Guadalupe Rosa Ana Carmen Juanita:o Yolanda:m Veronica:m Alicia:m Marisol:m Lucia:y
Valeria:y Daniela:y Priya:m Mei:m Linh:m Aisha:m Fatima:m Keisha:m Latoya:m Tanya:m
Stacy:m Carrie:m Shannon:m Christy:m Kristin:m Kristina:m Natasha:m Kendra:m Bonnie:o Peggy:o
Connie:o Lois:o Norma:o Phyllis:o Marie:o Irene:o Anne:o Louise:o Ethel:o Mildred:o
Edna:o Eleanor:o Paula:o Sylvia:o Robin:m Regina:m Katrina:m Melanie:m Gina:m Joanne:o
Ellen:o Lynn:o Charlene:o Colleen:m Jenna:y Molly:y Kaitlyn:y Mackenzie:y Kylie:y Alyssa:y
Autumn:y Jade:y Naomi:y Ruby:y Elena:y Maya:y Sadie:y Ivy:y Lucy:y Paige:y
"""

_MALE = """
James:o Robert:o John:o Michael:m David:m William:o Richard:o Joseph Thomas:o Christopher:m
Charles:o Daniel:m Matthew:m Anthony:m Mark:m Donald:o Steven:m Paul:o Andrew:m Joshua:y
Kenneth:o Kevin:m Brian:m George:o Timothy:m Ronald:o Edward:o Jason:m Jeffrey:m Ryan:y
Jacob:y Gary:o Nicholas:y Eric:m Jonathan:m Stephen:o Larry:o Justin:y Scott:m Brandon:y
Benjamin:y Samuel:y Gregory:m Alexander:y Frank:o Patrick:m Raymond:o Jack:o Dennis:o Jerry:o
Tyler:y Aaron:m Jose Adam:m Nathan:y Henry:o Douglas:o Zachary:y Peter:o Kyle:y
Ethan:y Walter:o Noah:y Jeremy:m Christian:y Keith:m Roger:o Terry:o Gerald:o Harold:o
Sean:m Austin:y Carl:o Arthur:o Lawrence:o Dylan:y Jesse:m Jordan:y Bryan:m Billy:o
Joe:o Bruce:o Gabriel:y Logan:y Albert:o Willie:o Alan:o Juan Wayne:o Elijah:y
Randy:m Roy:o Vincent:m Ralph:o Eugene:o Russell:o Bobby:o Mason:y Philip:o Louis:o
Liam:y Lucas:y Oliver:y Aiden:y Jayden:y Caleb:y Luke:y Isaac:y Owen:y Wyatt:y
Hunter:y Evan:y Connor:y Jackson:y Carter:y Julian:y Levi:y Isaiah:y Landon:y Cameron:y
Adrian:y Colton:y Chase:y Sebastian:y Mateo:y Leo:y Ezra:y Hudson:y Lincoln:y Grayson:y
Asher:y Miles:y Carlos Luis Miguel Jorge Ricardo Manuel Alejandro:y Diego:y
Fernando:m Javier:m Pedro Raul:m Francisco Antonio Rafael Eduardo Mario Hector:m
Sergio:m Roberto Victor:m Martin:m Travis:m Shawn:m Chad:m Derek:m Marcus:m Corey:m
Cody:y Trevor:y Brett:m Craig:m Todd:m Dale:o Glenn:o Curtis:m Barry:o Stanley:o
Leonard:o Howard:o Fred:o Frederick:o Francis:o Norman:o Earl:o Jimmy:o Tony:m Danny:m
Troy:m Darren:m Derrick:m Tyrone:m Jamal:m Andre:m Malik:y Terrance:m Wei:m Raj:m
Amit:m Arjun:y Hiroshi:o Minh:m Mohammed:m Ahmed:m Omar:m Ali:m Dominic:y Xavier:y
Max:y Nolan:y Ian:m Cole:y Blake:y Garrett:y Spencer:y Seth:m Marc:m Neil:m
Ross:m Gordon:o Lloyd:o Clarence:o Herbert:o Melvin:o Leroy:o Vernon:o Clifford:o Nathaniel:y
"""

# Formal name -> nicknames vendors use for it (William <-> Bill, Robert <-> Bob, ...).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy", "Liam"),
    "Robert": ("Bob", "Rob", "Bobby", "Bert"),
    "Richard": ("Rick", "Rich", "Dick", "Ricky"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny"),
    "Michael": ("Mike", "Mikey"),
    "Thomas": ("Tom", "Tommy"),
    "Christopher": ("Chris", "Topher"),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Joseph": ("Joe", "Joey"),
    "Charles": ("Charlie", "Chuck", "Chas"),
    "Steven": ("Steve",),
    "Stephen": ("Steve",),
    "Edward": ("Ed", "Eddie", "Ted", "Ned"),
    "Andrew": ("Andy", "Drew"),
    "Joshua": ("Josh",),
    "Kenneth": ("Ken", "Kenny"),
    "Benjamin": ("Ben", "Benny"),
    "Samuel": ("Sam", "Sammy"),
    "Alexander": ("Alex", "Xander"),
    "Nicholas": ("Nick", "Nicky"),
    "Jonathan": ("Jon", "Jonny"),
    "Timothy": ("Tim", "Timmy"),
    "Gregory": ("Greg",),
    "Patrick": ("Pat", "Paddy"),
    "Ronald": ("Ron", "Ronnie"),
    "Donald": ("Don", "Donnie"),
    "Gerald": ("Jerry", "Gerry"),
    "Lawrence": ("Larry",),
    "Raymond": ("Ray",),
    "Douglas": ("Doug",),
    "Peter": ("Pete",),
    "Frederick": ("Fred", "Freddie"),
    "Jeffrey": ("Jeff",),
    "Zachary": ("Zach", "Zack"),
    "Nathaniel": ("Nate", "Nathan"),
    "Nathan": ("Nate",),
    "Jacob": ("Jake",),
    "Henry": ("Hank", "Harry"),
    "Walter": ("Walt",),
    "Harold": ("Hal", "Harry"),
    "Eugene": ("Gene",),
    "Albert": ("Al", "Bert"),
    "Phillip": ("Phil",),
    "Philip": ("Phil",),
    "Leonard": ("Len", "Lenny"),
    "Vincent": ("Vince",),
    "Francisco": ("Paco", "Frank"),
    "Alejandro": ("Alex",),
    "Gabriel": ("Gabe",),
    "Elizabeth": ("Liz", "Beth", "Betty", "Lizzie", "Eliza"),
    "Katherine": ("Kate", "Katie", "Kathy"),
    "Catherine": ("Cathy", "Kate", "Cat"),
    "Kathryn": ("Kate", "Katie"),
    "Kathleen": ("Kathy", "Kate"),
    "Jennifer": ("Jen", "Jenny"),
    "Margaret": ("Maggie", "Peggy", "Meg", "Marge"),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Susan": ("Sue", "Susie"),
    "Deborah": ("Debbie", "Deb"),
    "Debra": ("Debbie", "Deb"),
    "Rebecca": ("Becky", "Becca"),
    "Jessica": ("Jess", "Jessie"),
    "Christine": ("Chris", "Tina"),
    "Christina": ("Chris", "Tina"),
    "Victoria": ("Vicky", "Tori"),
    "Kimberly": ("Kim",),
    "Samantha": ("Sam", "Sammy"),
    "Alexandra": ("Alex", "Lexi"),
    "Abigail": ("Abby",),
    "Barbara": ("Barb", "Barbie"),
    "Cynthia": ("Cindy",),
    "Pamela": ("Pam",),
    "Stephanie": ("Steph",),
    "Theresa": ("Terry", "Tess"),
    "Teresa": ("Terry", "Tess"),
    "Dorothy": ("Dot", "Dottie"),
    "Judith": ("Judy",),
    "Melissa": ("Missy", "Mel"),
    "Amanda": ("Mandy",),
    "Madison": ("Maddie",),
    "Gabriella": ("Gabby", "Ella"),
    "Olivia": ("Liv", "Livvy"),
    "Jacqueline": ("Jackie",),
    "Virginia": ("Ginny",),
    "Frances": ("Fran", "Frankie"),
    "Danielle": ("Dani",),
    "Valerie": ("Val",),
    "Natalie": ("Nat",),
    "Caroline": ("Carrie",),
    "Eleanor": ("Ellie", "Nora"),
    "Isabella": ("Bella", "Izzy"),
    "Charlotte": ("Charlie", "Lottie"),
    "Mildred": ("Millie",),
    "Evelyn": ("Evie",),
    "Andrea": ("Andi",),
    "Allison": ("Ally",),
    "Lillian": ("Lily",),
}

# ----------------------------------------------------------------------------- surnames
# Census 2010 order (top ~450); the rest of the population gets a compound English surname.

_SURNAMES = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders
Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler
Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton
Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina
Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington
Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter
Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black
Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson
Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce
Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson
Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena
Richards Contreras Willis Carpenter Lawrence Sandoval Guerrero George Chapman Rios Estrada
Ortega Watkins Greene Nunez Wheeler Valdez Harper Burke Larson Santiago Maldonado Morrison
Franklin Carlson Austin Dominguez Carr Lawson Jacobs O'Brien Lynch Singh Vega Bishop Montgomery
Oliver Jensen Harvey Williamson Gilbert Dean Sims Espinoza Howell Li Wong Reid Hanson Le McCoy
Garrett Burton Fuller Wang Weber Welch Rojas Lucas Marquez Fields Park Yang Little Banks Padilla
Day Walsh Bowman Schultz Luna Fowler Mejia Davidson Acosta Brewer May Holland Juarez Newman
Pearson Curtis Cortez Douglas Schneider Joseph Barrett Navarro Figueroa Keller Avila Wade
Molina Stanley Hopkins Campos Barnett Bates Chambers Caldwell Beck Lambert Miranda Byrd Craig
Ayala Lowe Frazier Powers Neal Leonard Gregory Carrillo Sutton Fleming Rhodes Shelton Schwartz
Norris Jennings Watts Duran Walters Cohen McDaniel Moran Parks Steele Vaughn Becker Holt DeLeon
Barker Terry Hale Leon Benson Haynes Horton Miles Lyons Pham Graves Bush Thornton Wolfe Warner
Cabrera McKinney Mann Zimmerman Dawson Lara Fletcher Page McCarthy Love Robles Cervantes Solis
Erickson Reeves Chang Klein Salinas Fuentes Baldwin Daniel Simon Velasquez Hardy Higgins Aguirre
Lin Cummings Chandler Sharp Barber Bowen Ochoa Dennis Robbins Liu Ramsey Francis Griffith Paul
Blair O'Connor Cardenas Pacheco Cross Calderon Quinn Moss Swanson Chan Rivas Khan Rodgers
Serrano Fitzgerald Rosales Stevenson Christensen Manning Gill Curry McLaughlin Harmon McGee
Gross Doyle Garner Newton Burgess Reese Walton Blake Trujillo Adkins Brady Goodman Roman
Webster Goodwin Fischer Huang Potter Montoya Todd Wu Hines Mullins Castaneda Malone Cannon
Tate Mack Sherman Hubbard Hodges Zhang Guerra Wolf Valencia Saunders Franco Rowe Gallagher
Farmer Hammond Hampton Townsend Ingram Wise Gallegos Clarke Barton Schroeder Maxwell Waters
Logan Camacho Strickland Norman Parsons Frank Harrington Glover Osborne Buchanan Casey Floyd
Patton Ibarra Ball Tyler Suarez Bowers Orozco Salas Cobb Gibbs Andrade Bauer Conner Moody
Escobar McGuire Lloyd Mueller Hartman French Kramer McBride Pope Lindsey Velazquez Norton
McCormick Sparks Flynn Yates Hogan Marsh Macias Villanueva Zamora Pratt Stokes Owen Ballard
Lang Brock Villarreal Charles Drake Barrera Cain Patrick Pineda Burnett Mercado Santana
Shepherd Bautista Ali Shaffer Lamb Trevino McKenzie Hess Kaur Shah Nakamura Tanaka Yamamoto
Kowalski Novak Nowak Kaplan Goldberg Friedman Rosen Murphy Sullivan Byrne
"""

_SURNAME_PREFIXES = """
Ash Black Brad Brook Cald Cart Chester Cran Dun Ed Fair Gold Hart Hol Kings Lang Mar Nor Pem
Rad Red Ross Stan Stock Thorn Wake Wel Whit Wood Ald Bar Bel Brent Carl Dal Dart Fern Grant
Hay Mel Mid Oak Pres Ral Rut Shel Stam Tam Wes
"""
_SURNAME_SUFFIXES = "ford ley ton well wood field by ham worth more wick bury son man ridge brook"

# ----------------------------------------------------------------------------- places
# code|name|population (millions, 2023)|income factor (cost of living)
_STATES = """
AL|Alabama|5.1|0.87
AK|Alaska|0.73|1.08
AZ|Arizona|7.4|1.00
AR|Arkansas|3.07|0.84
CA|California|39.0|1.18
CO|Colorado|5.9|1.10
CT|Connecticut|3.6|1.15
DE|Delaware|1.03|1.00
DC|District of Columbia|0.68|1.30
FL|Florida|22.6|0.98
GA|Georgia|11.0|0.97
HI|Hawaii|1.44|1.15
ID|Idaho|1.96|0.92
IL|Illinois|12.5|1.05
IN|Indiana|6.86|0.93
IA|Iowa|3.2|0.93
KS|Kansas|2.94|0.93
KY|Kentucky|4.53|0.88
LA|Louisiana|4.57|0.88
ME|Maine|1.4|0.93
MD|Maryland|6.18|1.15
MA|Massachusetts|7.0|1.20
MI|Michigan|10.0|0.95
MN|Minnesota|5.74|1.05
MS|Mississippi|2.94|0.80
MO|Missouri|6.2|0.93
MT|Montana|1.13|0.90
NE|Nebraska|1.98|0.95
NV|Nevada|3.19|1.00
NH|New Hampshire|1.4|1.10
NJ|New Jersey|9.29|1.15
NM|New Mexico|2.11|0.85
NY|New York|19.6|1.15
NC|North Carolina|10.8|0.94
ND|North Dakota|0.78|0.98
OH|Ohio|11.8|0.94
OK|Oklahoma|4.05|0.88
OR|Oregon|4.23|1.07
PA|Pennsylvania|13.0|1.00
RI|Rhode Island|1.1|1.02
SC|South Carolina|5.37|0.90
SD|South Dakota|0.92|0.90
TN|Tennessee|7.13|0.93
TX|Texas|30.5|0.97
UT|Utah|3.42|1.00
VT|Vermont|0.65|1.00
VA|Virginia|8.72|1.06
WA|Washington|7.81|1.14
WV|West Virginia|1.77|0.82
WI|Wisconsin|5.91|0.96
WY|Wyoming|0.58|0.97
"""

# City|state|share of the state's population (relative)|ZIP3 prefixes|area codes
_CITIES = """
Los Angeles|CA|30|900,901,902|213,310,323,818
San Diego|CA|11|919,920,921|619,858
San Jose|CA|8|950,951|408,669
San Francisco|CA|8|941|415,628
Oakland|CA|5|945,946|510,341
Sacramento|CA|7|956,957,958|916,279
Fresno|CA|4|936,937|559
Long Beach|CA|4|907,908|562
Anaheim|CA|4|928|714,657
Irvine|CA|3|926,927|949
Riverside|CA|6|925|951
Bakersfield|CA|3|932,933|661
Pasadena|CA|3|910,911|626
Santa Barbara|CA|1.5|931|805
Santa Rosa|CA|2|954|707
Stockton|CA|2.5|952|209
Houston|TX|25|770,772,773,774|713,281,832
Dallas|TX|20|750,752,753|214,469,972
San Antonio|TX|10|780,781,782|210,726
Austin|TX|9|786,787|512,737
Fort Worth|TX|8|760,761|817,682
El Paso|TX|3.5|798,799|915
Corpus Christi|TX|1.5|783,784|361
Lubbock|TX|1.3|793,794|806
Plano|TX|3|750|469,972
Laredo|TX|1|780|956
Brownsville|TX|1.2|785|956
Amarillo|TX|1|790,791|806
Miami|FL|12|330,331,332|305,786
Orlando|FL|8|327,328|407,321
Tampa|FL|8|335,336|813,656
Jacksonville|FL|5.5|320,322|904
Fort Lauderdale|FL|6|333|954,754
St. Petersburg|FL|3|337|727
Tallahassee|FL|1.5|323|850
West Palm Beach|FL|4|334|561
Fort Myers|FL|2.5|339|239
Gainesville|FL|1.2|326|352
Pensacola|FL|1.5|325|850
Sarasota|FL|2|342|941
New York|NY|20|100,101,102|212,646,917
Brooklyn|NY|15|112|718,347,929
Flushing|NY|5|113|718,347
Jamaica|NY|4|114|718,347
Bronx|NY|8|104|718,347
Staten Island|NY|2.5|103|718,347
Buffalo|NY|5|140,142|716
Rochester|NY|5|144,146|585
Albany|NY|4|120,122|518
Syracuse|NY|3.5|130,132|315
Yonkers|NY|4|107|914
White Plains|NY|3|106|914
Hempstead|NY|6|115|516
Ithaca|NY|0.7|148|607
Binghamton|NY|1|137,139|607
Philadelphia|PA|12|190,191|215,267
Pittsburgh|PA|9|150,151,152|412,724
Allentown|PA|3|180,181|610,484
Harrisburg|PA|2.5|170,171|717
Erie|PA|1.3|164,165|814
Scranton|PA|2|184,185|570
Lancaster|PA|2.5|175,176|717
Chicago|IL|25|606,607,608|312,773,872
Aurora|IL|3|605|630,331
Naperville|IL|3|605|630,331
Evanston|IL|2|602|847,224
Rockford|IL|1.5|610,611|815,779
Peoria|IL|1.5|615,616|309
Springfield|IL|1.2|627|217
Champaign|IL|1|618,619|217
Columbus|OH|10|430,431,432|614,380
Cleveland|OH|10|440,441|216,440
Cincinnati|OH|9|450,451,452|513
Toledo|OH|3.5|434,435,436|419,567
Akron|OH|3.5|442,443|330,234
Dayton|OH|4|453,454|937
Atlanta|GA|30|300,303|404,470,678,770
Savannah|GA|2|313,314|912
Augusta|GA|2|308,309|706
Macon|GA|1.2|312|478
Athens|GA|1|306|706
Charlotte|NC|10|280,282|704,980
Raleigh|NC|6|275,276|919,984
Durham|NC|3|277|919,984
Greensboro|NC|3.5|274|336
Winston-Salem|NC|3|270,271|336
Asheville|NC|2|287,288|828
Wilmington|NC|1.5|284|910
Fayetteville|NC|2|283|910
Detroit|MI|15|480,481,482|313,248,734
Grand Rapids|MI|5|493,495|616
Ann Arbor|MI|2.5|481|734
Lansing|MI|2.5|488,489|517
Flint|MI|2|484,485|810
Kalamazoo|MI|1.5|490,491|269
Newark|NJ|6|070,071|973,862
Jersey City|NJ|4|073|201,551
Paterson|NJ|3|074,075|973,862
Trenton|NJ|2.5|085,086|609
Edison|NJ|4|088|732,848
Camden|NJ|2.5|080,081|856
Toms River|NJ|2|087|732,848
Morristown|NJ|2|079|973,862
Hackensack|NJ|3|076|201,551
Virginia Beach|VA|4|234|757
Norfolk|VA|3|235|757
Richmond|VA|4.5|230,231,232|804
Arlington|VA|4|222|703,571
Alexandria|VA|3|223|703,571
Roanoke|VA|1.5|240,241|540
Charlottesville|VA|1|229|434
Fairfax|VA|5|220|703,571
Seattle|WA|11|980,981|206
Bellevue|WA|3|980|425
Tacoma|WA|4|983,984|253
Spokane|WA|3|990,992|509
Vancouver|WA|2.5|986|360
Everett|WA|3|982|425
Olympia|WA|1.2|985|360
Phoenix|AZ|14|850|602,480,623
Mesa|AZ|4|852|480
Scottsdale|AZ|2.5|852|480
Tucson|AZ|5|856,857|520
Chandler|AZ|2.5|852|480
Flagstaff|AZ|0.8|860|928
Yuma|AZ|1|853|928
Nashville|TN|8|370,371,372|615,629
Memphis|TN|6|380,381|901
Knoxville|TN|4|377,378,379|865
Chattanooga|TN|3|373,374|423
Boston|MA|10|021,022|617,857
Cambridge|MA|3|021|617,857
Worcester|MA|4|015,016|508,774
Springfield|MA|3|010,011|413
Lowell|MA|3|018|978,351
Quincy|MA|3|021|617,857
Brockton|MA|2|023|508,774
New Bedford|MA|2|027|508,774
Indianapolis|IN|10|460,461,462|317,463
Fort Wayne|IN|3|467,468|260
Evansville|IN|2|476,477|812,930
South Bend|IN|2.5|465,466|574
Bloomington|IN|1.5|474|812,930
Kansas City|MO|6|640,641|816
St. Louis|MO|8|630,631|314,636
Springfield|MO|3|656,657,658|417
Columbia|MO|1.5|652|573
Baltimore|MD|8|210,211,212|410,443
Rockville|MD|4|208|301,240
Silver Spring|MD|3|209|301,240
Annapolis|MD|2|214|410,443
Frederick|MD|2|217|301,240
Milwaukee|WI|8|530,532|414
Madison|WI|4|535,537|608
Green Bay|WI|2.5|541,542,543|920
Kenosha|WI|1.5|531|262
Denver|CO|10|800,802|303,720
Colorado Springs|CO|4|808,809|719
Boulder|CO|2|803|303,720
Fort Collins|CO|2|805|970
Pueblo|CO|1|810|719
Minneapolis|MN|10|553,554|612,763
St. Paul|MN|5|550,551|651
Rochester|MN|1.5|559|507
Duluth|MN|1.5|556,557,558|218
Columbia|SC|3.5|290,291,292|803,839
Charleston|SC|3.5|294|843,854
Greenville|SC|3.5|296|864
Myrtle Beach|SC|1.5|295|843,854
Birmingham|AL|4.5|350,352|205,659
Montgomery|AL|2.5|360,361|334
Huntsville|AL|2.5|357,358|256,938
Mobile|AL|2.5|365,366|251
New Orleans|LA|5|700,701|504
Baton Rouge|LA|4|707,708|225
Shreveport|LA|2.5|710,711|318
Lafayette|LA|2.5|705|337
Louisville|KY|6|400,402|502
Lexington|KY|3.5|403,404,405|859
Bowling Green|KY|1.5|421|270,364
Portland|OR|10|970,971,972|503,971
Eugene|OR|2.5|974|541,458
Salem|OR|2.5|973|503,971
Bend|OR|1.5|977|541,458
Oklahoma City|OK|6|730,731|405
Tulsa|OK|5|740,741|918,539
Norman|OK|1.5|730|405
Hartford|CT|5|060,061|860,959
New Haven|CT|4|064,065|203,475
Stamford|CT|3|069|203,475
Bridgeport|CT|3|066|203,475
Salt Lake City|UT|6|840,841|801,385
Provo|UT|3|846|801,385
Ogden|UT|2|844|801,385
St. George|UT|1|847|435
Des Moines|IA|4|500,503|515
Cedar Rapids|IA|2.5|522,524|319
Davenport|IA|2|527,528|563
Iowa City|IA|1.5|522|319
Las Vegas|NV|10|889,890,891|702,725
Henderson|NV|3|890|702,725
Reno|NV|3|894,895|775
Little Rock|AR|4|720,721,722|501
Fayetteville|AR|2.5|727|479
Fort Smith|AR|1.5|729|479
Jackson|MS|4|390,391,392|601,769
Gulfport|MS|2|395|228
Hattiesburg|MS|1.5|394|601,769
Wichita|KS|4|670,671,672|316
Overland Park|KS|3.5|662|913
Topeka|KS|1.5|664,665,666|785
Lawrence|KS|1|660|785
Albuquerque|NM|5|870,871|505
Santa Fe|NM|1.5|875|505
Las Cruces|NM|1.5|880|575
Omaha|NE|5|680,681|402,531
Lincoln|NE|3|683,684,685|402,531
Boise|ID|5|836,837|208,986
Idaho Falls|ID|1.5|834|208,986
Nampa|ID|2|836|208,986
Charleston|WV|2|250,251,252,253|304,681
Huntington|WV|1.5|255,256,257|304,681
Morgantown|WV|1|265|304,681
Honolulu|HI|8|967,968|808
Hilo|HI|1.5|967|808
Manchester|NH|3|030,031|603
Nashua|NH|2|030|603
Concord|NH|1.5|032,033|603
Portland|ME|3|040,041|207
Bangor|ME|1.5|044|207
Lewiston|ME|1.2|042|207
Billings|MT|2|590,591|406
Missoula|MT|1.5|598|406
Bozeman|MT|1|597|406
Providence|RI|5|028,029|401
Warwick|RI|2|028|401
Wilmington|DE|4|197,198|302
Dover|DE|2|199|302
Sioux Falls|SD|3|570,571|605
Rapid City|SD|1.5|577|605
Fargo|ND|3|580,581|701
Bismarck|ND|2|585|701
Anchorage|AK|4|995|907
Fairbanks|AK|1|997|907
Juneau|AK|0.5|998|907
Washington|DC|1|200,203|202,771
Burlington|VT|2|054|802
Montpelier|VT|0.5|056|802
Rutland|VT|0.7|057|802
Cheyenne|WY|2|820|307
Casper|WY|1.5|826|307
Laramie|WY|1|820|307
"""

# ----------------------------------------------------------------------------- streets
_STREET_NAMES = """
MAIN OAK MAPLE CEDAR PINE ELM WASHINGTON LAKE HILL PARK WALNUT CHESTNUT SPRUCE BIRCH WILLOW
SUNSET RIVERSIDE LINCOLN JEFFERSON MADISON FRANKLIN JACKSON ADAMS CHURCH MILL SPRING CENTER
HIGHLAND MEADOW FOREST RIDGE VALLEY MARKET UNION WATER HICKORY DOGWOOD MAGNOLIA LAUREL
SYCAMORE ASPEN LOCUST POPLAR JUNIPER CHERRY ORCHARD PROSPECT PLEASANT FAIRVIEW LAKEVIEW
HILLCREST GREENWOOD BRIARWOOD WOODLAND KING QUEEN COLLEGE SCHOOL STATE HIGH FRONT BRIDGE
HARBOR BAY OCEAN MOUNTAIN CANYON SHADY SILVER MISSION VISTA SANTA FE PEACHTREE CYPRESS
HOLLY IVY ROSE LILAC JASMINE HAWTHORNE BROOKSIDE CREEKSIDE STONEY WINDSOR DOVER OXFORD
CAMBRIDGE HAMPTON ASHLEY BRENTWOOD KENSINGTON FOXRUN DEERFIELD EAGLE HERON QUAIL COLONIAL
MONROE GRANT HARRISON WILSON TAYLOR CLEVELAND PERSHING EVERGREEN
1ST 2ND 3RD 4TH 5TH 6TH 7TH 8TH 9TH 10TH 11TH 12TH 14TH 16TH 21ST 23RD 32ND 45TH
"""
# USPS abbreviation, the word vendors spell out, weight
STREET_SUFFIXES: tuple[tuple[str, str, float], ...] = (
    ("ST", "Street", 28),
    ("AVE", "Avenue", 18),
    ("RD", "Road", 12),
    ("DR", "Drive", 14),
    ("LN", "Lane", 8),
    ("CT", "Court", 6),
    ("BLVD", "Boulevard", 4),
    ("PL", "Place", 3),
    ("WAY", "Way", 4),
    ("CIR", "Circle", 2),
    ("TER", "Terrace", 1),
    ("PKWY", "Parkway", 1),
    ("TRL", "Trail", 1),
)

# ----------------------------------------------------------------------------- email
# domain, weight for people born before 1975, weight for people born 1975 or later
EMAIL_DOMAINS: tuple[tuple[str, float, float], ...] = (
    ("gmail.com", 30, 52),
    ("yahoo.com", 20, 12),
    ("hotmail.com", 10, 7),
    ("outlook.com", 6, 9),
    ("aol.com", 10, 1),
    ("icloud.com", 2, 10),
    ("comcast.net", 6, 1.5),
    ("msn.com", 3, 1),
    ("live.com", 2, 2),
    ("att.net", 3, 0.8),
    ("verizon.net", 2, 0.4),
    ("sbcglobal.net", 4, 0.7),
    ("protonmail.com", 0.3, 1.5),
    ("me.com", 1.5, 1.5),
)

# ----------------------------------------------------------------------------- companies
# industry, weight, revenue per employee (USD), words that end a company name in it
INDUSTRIES: tuple[tuple[str, float, float, tuple[str, ...]], ...] = (
    ("Software", 9, 250e3, ("Software", "Systems", "Labs", "Technologies", "Digital", "Cloud")),
    ("IT Services", 6, 150e3, ("Solutions", "Technologies", "Consulting", "Networks", "IT")),
    ("Financial Services", 6, 400e3, ("Capital", "Financial", "Advisors", "Partners", "Wealth")),
    ("Banking", 3, 450e3, ("Bank", "Bancorp", "Savings", "Trust")),
    ("Insurance", 4, 450e3, ("Insurance", "Assurance", "Underwriters", "Mutual")),
    ("Healthcare", 8, 120e3, ("Health", "Medical", "Care", "Clinic", "Family Medicine")),
    ("Biotechnology", 2, 300e3, ("Bio", "Therapeutics", "Biosciences", "Genomics")),
    ("Manufacturing", 9, 220e3, ("Manufacturing", "Industries", "Fabrication", "Machine Works")),
    ("Construction", 7, 200e3, ("Construction", "Builders", "Contractors", "Homes")),
    ("Real Estate", 5, 250e3, ("Realty", "Properties", "Real Estate", "Land")),
    ("Retail", 8, 180e3, ("Outfitters", "Supply", "Market", "Goods", "Stores")),
    ("E-Commerce", 3, 300e3, ("Shop", "Direct", "Online", "Commerce")),
    ("Logistics and Transportation", 5, 200e3, ("Logistics", "Freight", "Transport", "Shipping")),
    ("Education", 4, 90e3, ("Academy", "Learning", "Education", "Institute")),
    ("Marketing and Advertising", 4, 160e3, ("Media", "Marketing", "Creative", "Agency")),
    ("Telecommunications", 2, 400e3, ("Telecom", "Communications", "Wireless", "Fiber")),
    ("Hospitality", 4, 70e3, ("Hospitality", "Hotels", "Restaurants", "Kitchen")),
    ("Energy", 2, 700e3, ("Energy", "Power", "Solar", "Resources")),
    ("Legal Services", 3, 200e3, ("Law Group", "Legal", "Law")),
    ("Automotive", 3, 300e3, ("Motors", "Auto", "Automotive")),
    ("Nonprofit", 3, 80e3, ("Foundation", "Alliance", "Fund")),
    ("Consulting", 5, 180e3, ("Consulting", "Advisory", "Group", "Partners")),
    ("Media and Entertainment", 2, 250e3, ("Studios", "Media", "Entertainment", "Pictures")),
    ("Agriculture", 2, 250e3, ("Farms", "Agriculture", "Growers", "Harvest")),
)

COMPANY_WORDS = (
    """
Summit Pinnacle Harbor Cedar Northstar Evergreen Ironwood Silverline Redwood Granite Keystone
Lakeside Meridian Horizon Atlas Beacon Cobalt Crescent Blue Ridge Bluewater Clearwater
Copperleaf Driftwood Eastgate Falcon Foxhollow Frontier Gateway Goldcrest Greystone Hawthorn
Highpoint Ironclad Juniper Kestrel Landmark Liberty Lighthouse Magnolia Maple Leaf Mesa
Midwest Monarch Neptune Northwind Oakridge Orchard Pacific Paramount Patriot Pioneer Polaris
Prairie Quarry Radiant Red Oak Riverbend Rockwell Sagebrush Sentinel Sequoia Silver Creek
Skyline Sterling Stonebridge Sunrise Tidewater Timberline Trailhead Trident True North
Union Square Vanguard Vertex Westfield Whitestone Wildrose Willow Creek Windward Zenith
Anchor Apex Aspen Bayview Bridgewater Canyon Cardinal Centennial Citadel Coastal Compass
Crossroads Diamond Eagle Emerald Everest Fairway Firefly Fulcrum Guardian Harvest Heritage
Hudson Keystone Lantern Legacy Marathon Mosaic Nexus Oasis Onyx Orion Peregrine Phoenix
""".replace("Blue Ridge", "Blue_Ridge")
    .replace("Maple Leaf", "Maple_Leaf")
    .replace("Red Oak", "Red_Oak")
    .replace("Silver Creek", "Silver_Creek")
    .replace("True North", "True_North")
    .replace("Union Square", "Union_Square")
    .replace("Willow Creek", "Willow_Creek")
)

BRAND_PREFIXES = (
    "Nex Veri Omni Accu Prime Zen Cyber Data Cloud Bright Tru Inno Quanta Vita Syn Flex Opti "
    "Medi Fin Agri Aero Geo Lumi Nova Pro Stra Tera Volt Xen Evo"
).split()
BRAND_SUFFIXES = (
    "ora tech logic works ly io ify gen sys nova core wave point scale bridge stack path metrics "
    "sight grid"
).split()



def _brand(prefix: str, suffix: str) -> str:
    # vowel meets vowel: the prefix gives way (Veri + ify -> Verify, Medi + ora -> Medora)
    if prefix[-1] in "aeiou" and suffix[0] in "aeiou":
        prefix = prefix[:-1]
    return prefix + suffix


BRANDS = sorted({_brand(p, s) for p in BRAND_PREFIXES for s in BRAND_SUFFIXES if s != p.lower()})

LEGAL_FORMS: tuple[tuple[str, float], ...] = (
    (", Inc.", 34),
    (" Inc", 10),
    (" LLC", 30),
    (", LLC", 6),
    (" Corp.", 8),
    (" Corporation", 5),
    (" Co.", 3),
    (" Ltd.", 2),
    (", L.L.C.", 2),
)

# ----------------------------------------------------------------------------- roles
SENIORITIES = ("entry", "senior", "manager", "director", "vp", "c-level")
# department, weight, titles per seniority (entry, senior, manager, director, vp, c-level)
DEPARTMENTS: tuple[tuple[str, float, tuple[tuple[str, ...], ...]], ...] = (
    (
        "Sales",
        18,
        (
            ("Sales Development Representative", "Sales Associate", "Inside Sales Representative"),
            ("Account Executive", "Senior Account Executive", "Senior Sales Representative"),
            ("Sales Manager", "Regional Sales Manager", "Account Manager"),
            ("Director of Sales", "Sales Director"),
            ("Vice President of Sales",),
            ("Chief Revenue Officer", "Chief Sales Officer"),
        ),
    ),
    (
        "Marketing",
        8,
        (
            ("Marketing Coordinator", "Marketing Associate", "Marketing Specialist"),
            ("Senior Marketing Specialist", "Content Strategist", "Senior Marketing Analyst"),
            ("Marketing Manager", "Digital Marketing Manager", "Brand Manager"),
            ("Director of Marketing", "Marketing Director"),
            ("Vice President of Marketing",),
            ("Chief Marketing Officer",),
        ),
    ),
    (
        "Engineering",
        15,
        (
            ("Software Engineer", "Junior Developer", "Associate Engineer"),
            ("Senior Software Engineer", "Staff Engineer", "Principal Engineer"),
            ("Engineering Manager",),
            ("Director of Engineering",),
            ("Vice President of Engineering",),
            ("Chief Technology Officer",),
        ),
    ),
    (
        "Finance",
        8,
        (
            ("Financial Analyst", "Staff Accountant", "Accounts Payable Specialist"),
            ("Senior Financial Analyst", "Senior Accountant"),
            ("Finance Manager", "Accounting Manager"),
            ("Director of Finance", "Controller"),
            ("Vice President of Finance",),
            ("Chief Financial Officer",),
        ),
    ),
    (
        "Human Resources",
        5,
        (
            ("HR Coordinator", "Recruiter", "HR Assistant"),
            ("Senior Recruiter", "HR Business Partner"),
            ("HR Manager", "Talent Acquisition Manager"),
            ("Director of Human Resources",),
            ("Vice President of People",),
            ("Chief People Officer", "Chief Human Resources Officer"),
        ),
    ),
    (
        "Operations",
        15,
        (
            ("Operations Associate", "Operations Coordinator"),
            ("Senior Operations Analyst", "Operations Specialist"),
            ("Operations Manager", "Project Manager"),
            ("Director of Operations",),
            ("Vice President of Operations",),
            ("Chief Operating Officer",),
        ),
    ),
    (
        "IT",
        7,
        (
            ("IT Support Specialist", "Help Desk Technician", "Systems Administrator"),
            ("Senior Systems Administrator", "Network Engineer", "Senior IT Analyst"),
            ("IT Manager",),
            ("Director of IT",),
            ("Vice President of Information Technology",),
            ("Chief Information Officer",),
        ),
    ),
    (
        "Customer Success",
        7,
        (
            ("Customer Success Associate", "Customer Support Representative"),
            ("Customer Success Specialist", "Senior Support Engineer"),
            ("Customer Success Manager", "Support Manager"),
            ("Director of Customer Success",),
            ("Vice President of Customer Success",),
            ("Chief Customer Officer",),
        ),
    ),
    (
        "Product",
        5,
        (
            ("Associate Product Manager", "Product Analyst"),
            ("Senior Product Manager", "Product Manager"),
            ("Group Product Manager",),
            ("Director of Product",),
            ("Vice President of Product",),
            ("Chief Product Officer",),
        ),
    ),
    (
        "Legal",
        3,
        (
            ("Paralegal", "Legal Assistant"),
            ("Corporate Counsel", "Senior Counsel"),
            ("Legal Operations Manager",),
            ("Director of Legal Affairs",),
            ("Vice President of Legal",),
            ("General Counsel", "Chief Legal Officer"),
        ),
    ),
    (
        "Research and Development",
        4,
        (
            ("Research Associate", "Lab Technician"),
            ("Senior Scientist", "Research Scientist"),
            ("Research Manager",),
            ("Director of Research",),
            ("Vice President of Research and Development",),
            ("Chief Scientific Officer",),
        ),
    ),
    (
        "Administration",
        5,
        (
            ("Administrative Assistant", "Office Assistant", "Executive Assistant"),
            ("Senior Administrative Assistant", "Office Administrator"),
            ("General Manager", "Office Manager"),
            ("Managing Director",),
            ("Executive Vice President",),
            ("Chief Executive Officer", "President", "Founder", "Owner"),
        ),
    ),
)

# Abbreviations vendors use in titles (each is spelled out again by the `title` normaliser).
TITLE_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("Executive Vice President", "EVP"),
    ("Vice President", "VP"),
    ("Senior", "Sr."),
    ("Junior", "Jr."),
    ("Manager", "Mgr"),
    ("Director", "Dir"),
    ("Assistant", "Asst"),
)

# How vendors write each seniority level (all read back by the `seniority` normaliser).
SENIORITY_WORDS: dict[str, tuple[str, ...]] = {
    "entry": ("Entry", "Entry Level", "Junior", "entry-level"),
    "senior": ("Senior", "Sr", "SENIOR"),
    "manager": ("Manager", "Mgr", "MANAGER"),
    "director": ("Director", "Dir", "DIRECTOR"),
    "vp": ("VP", "Vice President", "vp"),
    "c-level": ("C-Level", "CXO", "C-Suite", "Executive"),
}

GENDER_WORDS = {
    "F": ("Female", "female", "Woman"),
    "M": ("Male", "male", "Man"),
    "X": ("Non-binary", "nonbinary", "X"),
}
MARITAL_CODES = {"single": "S", "married": "M", "divorced": "D", "widowed": "W"}
MARITAL_WORDS = {
    "single": ("Single", "Never Married", "single"),
    "married": ("Married", "married", "MARRIED"),
    "divorced": ("Divorced", "divorced", "DIVORCED"),
    "widowed": ("Widowed", "Widow", "widowed"),
}
MARITAL_STATUSES = ("single", "married", "divorced", "widowed")

# ----------------------------------------------------------------------------- parsed tables


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]  # type: ignore[func-returns-value]


def _names(text: str) -> tuple[list[str], list[str]]:
    names, eras = [], []
    for token in text.split():
        name, _, era = token.partition(":")
        if name not in names:
            names.append(name)
            eras.append(era)
    return names, eras


ERA_INDEX = {"o": 0, "m": 1, "y": 2}


@dataclass(frozen=True)
class FirstNames:
    names: list[str]
    weights: np.ndarray  # (era bucket, name) -> unnormalised weight


def _first_names(text: str) -> FirstNames:
    names, eras = _names(text)
    rank = np.arange(len(names), dtype=float)
    base = 1.0 / (rank + 5.0)
    weights = np.empty((3, len(names)))
    for bucket in range(3):
        factor = np.array(
            [1.0 if not e else (3.0 if ERA_INDEX[e] == bucket else 0.35) for e in eras]
        )
        weights[bucket] = base * factor
    return FirstNames(names, weights)


FEMALE = _first_names(_FEMALE)
MALE = _first_names(_MALE)

SURNAMES = _dedupe(_SURNAMES.split())
SURNAME_WEIGHTS = (np.arange(1, len(SURNAMES) + 1, dtype=float)) ** -0.6
TAIL_SURNAMES = _dedupe(
    [p + s for p in _SURNAME_PREFIXES.split() for s in _SURNAME_SUFFIXES.split()]
)
TAIL_SURNAMES = [s for s in TAIL_SURNAMES if s not in set(SURNAMES)]
# Share of people whose surname comes from the long tail rather than the ranked list.
TAIL_SHARE = 0.35


@dataclass(frozen=True)
class States:
    codes: list[str]
    names: list[str]
    population: np.ndarray
    income_factor: np.ndarray


def _states() -> States:
    rows = [line.split("|") for line in _STATES.strip().splitlines()]
    return States(
        [r[0] for r in rows],
        [r[1] for r in rows],
        np.array([float(r[2]) for r in rows]),
        np.array([float(r[3]) for r in rows]),
    )


STATES = _states()
STATE_INDEX = {code: i for i, code in enumerate(STATES.codes)}


@dataclass(frozen=True)
class Cities:
    names: list[str]
    state: np.ndarray  # state index per city
    weight: np.ndarray  # share of the US population
    zip3: list[tuple[str, ...]]
    area_codes: list[tuple[str, ...]]


def _cities() -> Cities:
    rows = [line.split("|") for line in _CITIES.strip().splitlines()]
    state = np.array([STATE_INDEX[r[1]] for r in rows])
    share = np.array([float(r[2]) for r in rows])
    per_state = np.bincount(state, weights=share, minlength=len(STATES.codes))
    weight = share / per_state[state] * STATES.population[state]
    return Cities(
        [r[0] for r in rows],
        state,
        weight / weight.sum(),
        [tuple(r[3].split(",")) for r in rows],
        [tuple(r[4].split(",")) for r in rows],
    )


CITIES = _cities()
STREET_NAMES = _dedupe(_STREET_NAMES.replace("SANTA FE", "SANTA_FE").split())
STREET_NAMES = [s.replace("_", " ") for s in STREET_NAMES]
COMPANY_WORD_LIST = [w.replace("_", " ") for w in _dedupe(COMPANY_WORDS.split())]
